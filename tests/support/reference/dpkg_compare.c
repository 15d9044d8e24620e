/* Reads "A<TAB>B" lines, prints dpkg's verdict: "-1|0|1 W" (W: A had a dpkg warning) or "E"
 * when libdpkg refuses either version. Built by tests/scanner/match/test_versions_reference.py
 * against Debian's libdpkg-dev: the reference our dpkg port is checked against. */
#define LIBDPKG_VOLATILE_API 1
#include <stdio.h>
#include <string.h>
#include <dpkg/dpkg.h>
#include <dpkg/version.h>
#include <dpkg/error.h>
#include <dpkg/dpkg-db.h>

int main(void) {
  char line[8192];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char *tab = strchr(line, '\t');
    if (!tab) return 2;
    *tab = 0;
    struct dpkg_version a, b;
    struct dpkg_error err = DPKG_ERROR_INIT;
    int ra = parseversion(&a, line, &err);
    int fatal_a = ra < 0 && err.type == DPKG_MSG_ERROR;
    dpkg_error_destroy(&err);
    int rb = parseversion(&b, tab + 1, &err);
    int fatal_b = rb < 0 && err.type == DPKG_MSG_ERROR;
    dpkg_error_destroy(&err);
    if (fatal_a || fatal_b) { puts("E"); continue; }
    int r = dpkg_version_compare(&a, &b);
    printf("%d\n", r < 0 ? -1 : r > 0);
  }
  return 0;
}
