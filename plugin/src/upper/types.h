// Derived datatypes and user reduction operations: recorded recipes, made (again) in the lower half.
#pragma once

#include "objects.h"

namespace crmpi {

// Makes t->real from its recipe in the current lower half (its bases must exist there already).
void build_type(VType* t);
// Makes op->real in the current lower half.
void build_op(VOp* op);

}  // namespace crmpi
