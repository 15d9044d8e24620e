/* Reads "A<TAB>B" lines, prints rpmverCmp(rpmverParse(A), rpmverParse(B)) ("E" if rpm cannot
 * parse one): the EVR comparison of rpm itself (librpm-dev), which our rpm port is checked against. */
#include <stdio.h>
#include <string.h>
#include <rpm/rpmver.h>

int main(void) {
  char line[8192];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char *tab = strchr(line, '\t');
    if (!tab) return 2;
    *tab = 0;
    rpmver a = rpmverParse(line), b = rpmverParse(tab + 1);
    if (!a || !b) { puts("E"); } else { printf("%d\n", rpmverCmp(a, b)); }
    rpmverFree(a);
    rpmverFree(b);
  }
  return 0;
}
