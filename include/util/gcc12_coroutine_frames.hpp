// Included by files whose Asio coroutines GCC 12 inlines: it then reports a false
// -Wmismatched-new-delete on the coroutine frames (their promise type has its own operator
// new/delete; GCC bug 109224). The ASan build, which would catch a real mismatch, runs every
// test. A pragma in a header holds for the rest of the including file.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
