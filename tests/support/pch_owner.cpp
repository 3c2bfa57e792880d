// tests/support/pch_owner.cpp — the executable that owns the test executables' precompiled header
// (tests/CMakeLists.txt, SENET_TEST_PCH): it is built with a test's own flags (an executable's
// -fPIE, which a library's -fPIC would not match), and every test then reuses its header. It runs
// nothing.
int main() { return 0; }
