// REQUIRE(r.ok()) for a stack::Result that shows the error when it fails. Evaluates r once.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#define REQUIRE_OK(r)                                                 \
  do {                                                                \
    auto&& require_ok_r_ = (r);                                       \
    INFO((require_ok_r_.ok() ? std::string()                          \
                             : require_ok_r_.error().to_string()));   \
    REQUIRE(require_ok_r_.ok());                                      \
  } while (0)
