# Cross build for AArch64 Linux with Debian's g++-aarch64-linux-gnu and the arm64 packages of
# the dependencies (dpkg --add-architecture arm64); tests run under qemu-aarch64.
#   cmake -S . -B build-a64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Libraries and packages from the arm64 multiarch directories only; headers may also come from
# /usr/include (header-only xbyak and Catch2 are the same for every architecture).
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_PREFIX_PATH /usr/lib/aarch64-linux-gnu/cmake)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)

# ctest, Catch2's test discovery and custom commands run target programs through qemu, with
# the arm64 run-time libraries of the multiarch packages (libc6:arm64, libstdc++6:arm64, ...;
# ./dev a64 installs them): `-L /` takes the dynamic loader from /lib too. With
# `-L /usr/aarch64-linux-gnu` qemu would load the cross toolchain's ld.so next to libc.so.6
# from /lib/aarch64-linux-gnu (ld.so.cache); when the two are different Debian builds of
# glibc (2.36-8cross1 and 2.36-9+deb12u14 here), the first pthread_create spins forever.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
