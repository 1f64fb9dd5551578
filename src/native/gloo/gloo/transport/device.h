// See ../README.md: a declaration-only stand-in for gloo's header.
#pragma once
#include "gloo/context.h"
