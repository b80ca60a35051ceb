#pragma once
// Include this instead of <catch2/catch.hpp>, before anything else: LibTorch's c10 logging
// defines a CHECK macro of its own, and in tests Catch2's must win.
#include <c10/util/Logging.h>
#undef CHECK
#include <catch2/catch.hpp>
