// tramp: everything in the C++ API.
#pragma once

#include "tramp/cdecl.hpp"
#include "tramp/engine.hpp"
#include "tramp/error.hpp"
#include "tramp/signature.hpp"
#include "tramp/type.hpp"
#include "tramp/values.hpp"
