// See README.md: a declaration-only stand-in for gloo's header, enough for ProcessGroupGloo.hpp.
#pragma once
#include "gloo/context.h"
