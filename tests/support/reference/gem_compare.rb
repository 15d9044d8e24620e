# Reads "A<TAB>B" lines, prints Gem::Version.new(A) <=> Gem::Version.new(B), or "E" when
# RubyGems rejects either: the reference our RubyGems port is checked against.
STDIN.each_line do |line|
  a, b = line.chomp("\n").split("\t", -1)
  begin
    puts((Gem::Version.new(a) <=> Gem::Version.new(b)).to_s)
  rescue ArgumentError
    puts "E"
  end
end
