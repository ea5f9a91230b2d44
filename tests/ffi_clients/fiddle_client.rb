# Ruby's fiddle (Debian's ruby): libc calls through ffi_call with integers of several widths,
# unsigned ones, floats, doubles, pointers and strings in and out, a variadic call, errno, and
# Fiddle::Closure objects (libffi closures) handed to qsort and called back through their own
# function pointers. Every result is checked. A check records its failure rather than raising:
# an exception must not unwind through qsort's frames from inside a comparator.
require 'fiddle'

# The libffi files this process maps, by real path (the kernel shows a mapping by its real path;
# the expected directory may be reached through a link).
def mapped_libffi
  File.readlines('/proc/self/maps').filter_map do |line|
    path = line.chomp.split(' ', 6)[5]
    File.realpath(path) rescue path if path && File.basename(path).start_with?('libffi.so')
  end.uniq.sort
end

dir = ENV.fetch('TRAMP_FFI_EXPECT_DIR') { abort 'TRAMP_FFI_EXPECT_DIR is not set' }
abort "no face at #{dir}/libffi.so.8" unless File.file?("#{dir}/libffi.so.8")
face = File.realpath("#{dir}/libffi.so.8")
mapped = mapped_libffi # fiddle.so is linked to libffi.so.8: it is mapped once fiddle is loaded
unless mapped == [face]
  abort "libffi.so.8 is not the face: mapped #{mapped.empty? ? 'no libffi at all' : mapped.join(', ')}; " \
        "expected only #{face}"
end
puts "libffi: #{face} (the face)"

$checks = 0
$failures = []
def check(what, got, want)
  $checks += 1
  return if got == want

  $failures << what
  warn "CHECK failed: #{what}: got #{got.inspect}, expected #{want.inspect}"
end

libc = Fiddle.dlopen(nil)
libm = Fiddle.dlopen('libm.so.6')
def fn(lib, name, args, ret) = Fiddle::Function.new(lib[name], args, ret)
T = Fiddle
UINT = -T::TYPE_INT # fiddle spells an unsigned type as the negated signed one
ULONG = -T::TYPE_LONG
UCHAR = -T::TYPE_CHAR

# Integers: widths, signs, sign and zero extension of results.
check('abs(int)', fn(libc, 'abs', [T::TYPE_INT], T::TYPE_INT).call(-42), 42)
check('labs(long)', fn(libc, 'labs', [T::TYPE_LONG], T::TYPE_LONG).call(-(1 << 40)), 1 << 40)
check('llabs(long long)', fn(libc, 'llabs', [T::TYPE_LONG_LONG], T::TYPE_LONG_LONG).call(-(1 << 62)), 1 << 62)
check('toupper(int)', fn(libc, 'toupper', [T::TYPE_INT], T::TYPE_INT).call('q'.ord), 'Q'.ord)
# htons returns uint16_t: the upper bits of the register must not leak into the result
check('htons(uint16_t)', fn(libc, 'htons', [-T::TYPE_SHORT], -T::TYPE_SHORT).call(0x1234), 0x3412)
check('htonl(uint32_t)', fn(libc, 'htonl', [UINT], UINT).call(0x11223344), 0x44332211)
check('ffsl(long)', fn(libc, 'ffsl', [T::TYPE_LONG], T::TYPE_INT).call(1 << 50), 51)
strtoul = fn(libc, 'strtoul', [T::TYPE_CONST_STRING, T::TYPE_VOIDP, T::TYPE_INT], ULONG)
check('strtoul(unsigned long result)', strtoul.call('18446744073709551615', nil, 10), (1 << 64) - 1)

# Floating point: doubles and floats in and out, mixed with integers.
check('strtod', fn(libc, 'strtod', [T::TYPE_CONST_STRING, T::TYPE_VOIDP], T::TYPE_DOUBLE).call('2.75', nil), 2.75)
check('hypot(double, double)', fn(libm, 'hypot', [T::TYPE_DOUBLE, T::TYPE_DOUBLE], T::TYPE_DOUBLE).call(3.0, 4.0), 5.0)
check('ldexp(double, int)', fn(libm, 'ldexp', [T::TYPE_DOUBLE, T::TYPE_INT], T::TYPE_DOUBLE).call(0.75, 10), 768.0)
check('fmaf(float, float, float)',
      fn(libm, 'fmaf', [T::TYPE_FLOAT, T::TYPE_FLOAT, T::TYPE_FLOAT], T::TYPE_FLOAT).call(1.5, 2.0, 0.25), 3.25)
check('sqrtf(float)', fn(libm, 'sqrtf', [T::TYPE_FLOAT], T::TYPE_FLOAT).call(6.25), 2.5)
exponent = Fiddle::Pointer.malloc(Fiddle::SIZEOF_INT, Fiddle::RUBY_FREE)
frac = fn(libm, 'frexp', [T::TYPE_DOUBLE, T::TYPE_VOIDP], T::TYPE_DOUBLE).call(48.0, exponent)
check('frexp(double, int *)', [frac, exponent[0, Fiddle::SIZEOF_INT].unpack1('i')], [0.75, 6])

# Pointers and strings in and out.
text = 'tramp face'
check('strlen', fn(libc, 'strlen', [T::TYPE_CONST_STRING], T::TYPE_SIZE_T).call(text), 10)
check('strcmp', fn(libc, 'strcmp', [T::TYPE_CONST_STRING, T::TYPE_CONST_STRING], T::TYPE_INT).call('abc', 'abd') <=> 0, -1)
buf = Fiddle::Pointer.malloc(32, Fiddle::RUBY_FREE)
buf[0, 11] = "#{text}\0"
hit = fn(libc, 'strchr', [T::TYPE_VOIDP, T::TYPE_INT], T::TYPE_VOIDP).call(buf, 'f'.ord)
check('strchr (pointer result)', hit.to_i - buf.to_i, 6)
check('strchr (string at the result)', hit.to_s, 'face')
check('strchr (NULL result)', fn(libc, 'strchr', [T::TYPE_VOIDP, T::TYPE_INT], T::TYPE_VOIDP).call(buf, 'z'.ord).null?, true)
copy = fn(libc, 'memcpy', [T::TYPE_VOIDP, T::TYPE_VOIDP, T::TYPE_SIZE_T], T::TYPE_VOIDP)
dst = Fiddle::Pointer.malloc(32, Fiddle::RUBY_FREE)
check('memcpy returns dst', copy.call(dst, buf, 11).to_i, dst.to_i)
check('memcpy copied', dst.to_s, text)
end_ptr = Fiddle::Pointer.malloc(Fiddle::SIZEOF_VOIDP, Fiddle::RUBY_FREE)
src = Fiddle::Pointer.malloc(16, Fiddle::RUBY_FREE)
src[0, 9] = "-0x7fz!\0\0"
strtol = fn(libc, 'strtol', [T::TYPE_VOIDP, T::TYPE_VOIDP, T::TYPE_INT], T::TYPE_LONG)
check('strtol', strtol.call(src, end_ptr, 16), -0x7f)
check('strtol end pointer', end_ptr.ptr.to_i - src.to_i, 5)

# errno as the callee left it (fiddle reads it right after ffi_call returns).
check('strtol overflow', strtol.call('99999999999999999999999', nil, 10), (1 << 63) - 1)
check('errno after strtol', Fiddle.last_error, Errno::ERANGE::Errno)

# A variadic call: snprintf with an int, a double, a string and a long.
snprintf = fn(libc, 'snprintf', [T::TYPE_VOIDP, T::TYPE_SIZE_T, T::TYPE_CONST_STRING, T::TYPE_VARIADIC], T::TYPE_INT)
out = Fiddle::Pointer.malloc(64, Fiddle::RUBY_FREE)
n = snprintf.call(out, 64, '%d %.2f %s %ld', T::TYPE_INT, 7, T::TYPE_DOUBLE, 1.5, T::TYPE_CONST_STRING, 'ok',
                  T::TYPE_LONG, -(1 << 40))
check('snprintf', out.to_s, '7 1.50 ok -1099511627776')
check('snprintf length', n, 24)

# Closures as qsort comparators: a Fiddle::Closure subclass on ints, a block on doubles.
class IntOrder < Fiddle::Closure
  attr_reader :calls

  def call(a, b)
    @calls = (@calls || 0) + 1
    x = a.to_str(4).unpack1('l')
    y = b.to_str(4).unpack1('l')
    x <=> y
  end
end
qsort = fn(libc, 'qsort', [T::TYPE_VOIDP, T::TYPE_SIZE_T, T::TYPE_SIZE_T, T::TYPE_VOIDP], T::TYPE_VOID)
ints = [5, -3, 9, 1, 7, 0, -(1 << 31), (1 << 31) - 1]
mem = Fiddle::Pointer.malloc(4 * ints.size, Fiddle::RUBY_FREE)
mem[0, 4 * ints.size] = ints.pack('l*')
order = IntOrder.new(T::TYPE_INT, [T::TYPE_VOIDP, T::TYPE_VOIDP])
qsort.call(mem, ints.size, 4, order)
check('qsort ints', mem[0, 4 * ints.size].unpack('l*'), ints.sort)
check('the int comparator ran', (order.calls || 0) >= ints.size - 1, true)

doubles = [2.5, -1.0, 1e300, -0.5, 3.25]
dmem = Fiddle::Pointer.malloc(8 * doubles.size, Fiddle::RUBY_FREE)
dmem[0, 8 * doubles.size] = doubles.pack('d*')
double_calls = 0
descending = Fiddle::Closure::BlockCaller.new(T::TYPE_INT, [T::TYPE_VOIDP, T::TYPE_VOIDP]) do |a, b|
  double_calls += 1
  b.to_str(8).unpack1('d') <=> a.to_str(8).unpack1('d')
end
qsort.call(dmem, doubles.size, 8, descending)
check('qsort doubles, descending', dmem[0, 8 * doubles.size].unpack('d*'), doubles.sort.reverse)
check('the double comparator ran', double_calls >= doubles.size - 1, true)

# Closures called through their own function pointers: a double in and out, and one with more
# arguments than registers (integers and doubles both spill to the stack).
class Halver < Fiddle::Closure
  def call(x) = x / 2
end
halver = Halver.new(T::TYPE_DOUBLE, [T::TYPE_DOUBLE])
check('closure double', Fiddle::Function.new(halver, [T::TYPE_DOUBLE], T::TYPE_DOUBLE).call(5.0), 2.5)

many = [T::TYPE_INT, T::TYPE_DOUBLE] * 5 + [T::TYPE_LONG_LONG, T::TYPE_FLOAT] * 5 + [T::TYPE_CHAR, T::TYPE_SHORT]
many_args = nil
wide = Fiddle::Closure::BlockCaller.new(T::TYPE_DOUBLE, many) do |*args|
  many_args = args
  args.each_with_index.sum { |v, i| v * (i + 1) }
end
values = [1, 0.5, -2, 1.5, 3, -2.5, -4, 3.5, 5, 4.5, 1 << 40, 0.25, -(1 << 41), 0.75, 6, -1.25, 7, 2.0, 8, 8.5, -9, -300]
got = Fiddle::Function.new(wide, many, T::TYPE_DOUBLE).call(*values)
check('closure with 22 arguments: what it received', many_args, values)
check('closure with 22 arguments: its result', got, values.each_with_index.sum { |v, i| v * (i + 1) }.to_f)

puts "fiddle client: #{$checks} checks"
abort "fiddle client: #{$failures.size} checks failed: #{$failures.join(', ')}" unless $failures.empty?
puts 'fiddle client: all checks passed'
