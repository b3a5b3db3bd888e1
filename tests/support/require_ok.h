// REQUIRE(r.ok()) for a stack::Result that shows the error when it fails.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#define REQUIRE_OK(r)                                            \
  do {                                                           \
    INFO(((r).ok() ? std::string() : (r).error().to_string()));  \
    REQUIRE((r).ok());                                           \
  } while (0)
