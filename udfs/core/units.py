"""Unit constants. The core works in bytes, FLOPs, seconds and tokens; it converts only at the edges.

"GB" always means 10^9 bytes and "GiB" 2^30 bytes (IEC 80000-13); bandwidth in GB/s is 10^9 bytes/s as
vendors print it; TFLOPS is 10^12 floating-point operations per second.
"""

KB = 1e3
MB = 1e6
GB = 1e9
TB = 1e12
GIB = 2**30
MIB = 2**20
TERA = 1e12
HOUR_S = 3600.0
DAY_S = 86400.0
HOURS_PER_YEAR = 8760.0
MONTHS_PER_YEAR = 12.0
BITS_PER_BYTE = 8.0
MILLION = 1e6
