# Ruby's fiddle (Debian's ruby): libc calls and closures through libffi, every result checked.
require 'fiddle'
require 'fiddle/import'

want = ENV.fetch('TRAMP_FFI_EXPECT_DIR').chomp('/') + '/libffi.so.8'
libc = Fiddle.dlopen(nil)
paths = File.readlines('/proc/self/maps').map { |l| l.split.last }.select { |p| p.include?('/libffi.so') }.uniq
abort "libffi mapped from #{paths}, expected #{want}" if paths.empty? || paths.any? { |p| !p.start_with?(want) }
puts "libffi: #{paths.first}"

def check(what, got, want)
  raise "#{what}: got #{got.inspect}, expected #{want.inspect}" unless got == want
end

strlen = Fiddle::Function.new(libc['strlen'], [Fiddle::TYPE_VOIDP], Fiddle::TYPE_SIZE_T)
check('strlen', strlen.call('tramp face'), 10)
abs = Fiddle::Function.new(libc['abs'], [Fiddle::TYPE_INT], Fiddle::TYPE_INT)
check('abs', abs.call(-42), 42)
labs = Fiddle::Function.new(libc['labs'], [Fiddle::TYPE_LONG], Fiddle::TYPE_LONG)
check('labs', labs.call(-(1 << 40)), 1 << 40)
strtod = Fiddle::Function.new(libc['strtod'], [Fiddle::TYPE_VOIDP, Fiddle::TYPE_VOIDP], Fiddle::TYPE_DOUBLE)
check('strtod', strtod.call('2.75', nil), 2.75)
toupper = Fiddle::Function.new(libc['toupper'], [Fiddle::TYPE_INT], Fiddle::TYPE_INT)
check('toupper', toupper.call('q'.ord), 'Q'.ord)

# A variadic call: snprintf with an int, a double and a string.
snprintf = Fiddle::Function.new(libc['snprintf'],
                                [Fiddle::TYPE_VOIDP, Fiddle::TYPE_SIZE_T, Fiddle::TYPE_VOIDP, Fiddle::TYPE_VARIADIC],
                                Fiddle::TYPE_INT)
buf = Fiddle::Pointer.malloc(64, Fiddle::RUBY_FREE)
n = snprintf.call(buf, 64, '%d %.2f %s', Fiddle::TYPE_INT, 7, Fiddle::TYPE_DOUBLE, 1.5, Fiddle::TYPE_VOIDP, 'ok')
check('snprintf', buf.to_s, '7 1.50 ok')
check('snprintf length', n, 9)

# A closure: qsort with a Ruby comparator.
calls = 0
cmp = Fiddle::Closure::BlockCaller.new(Fiddle::TYPE_INT, [Fiddle::TYPE_VOIDP, Fiddle::TYPE_VOIDP]) do |a, b|
  calls += 1
  x = a.to_str(4).unpack1('l')
  y = b.to_str(4).unpack1('l')
  x <=> y
end
qsort = Fiddle::Function.new(libc['qsort'],
                             [Fiddle::TYPE_VOIDP, Fiddle::TYPE_SIZE_T, Fiddle::TYPE_SIZE_T, Fiddle::TYPE_VOIDP],
                             Fiddle::TYPE_VOID)
values = [5, -3, 9, 1, 7, 0]
mem = Fiddle::Pointer.malloc(4 * values.size, Fiddle::RUBY_FREE)
mem[0, 4 * values.size] = values.pack('l*')
qsort.call(mem, values.size, 4, cmp)
check('qsort', mem[0, 4 * values.size].unpack('l*'), values.sort)
raise 'qsort never called the comparator' if calls.zero?

# A closure with a double argument and result, called from Ruby through its own function pointer.
class Halver < Fiddle::Closure
  def call(x) = x / 2
end
halver = Halver.new(Fiddle::TYPE_DOUBLE, [Fiddle::TYPE_DOUBLE])
half = Fiddle::Function.new(halver, [Fiddle::TYPE_DOUBLE], Fiddle::TYPE_DOUBLE)
check('closure', half.call(5.0), 2.5)
puts 'fiddle client: all checks passed'
