"""Small helper programs used by the scripts, the tests and the benchmarks (not by tugd itself)."""
