// pizzeria's version: the one place it is written. CMakeLists.txt reads it
// from here for project(), so the CMake package, the pkg-config files, the
// .deb packages, the SONAMEs and `pizzeria version` all show this number.
// Semantic versioning; a release is tagged v<MAJOR.MINOR.PATCH>.
#pragma once

#include <string_view>

#define PIZZERIA_VERSION_MAJOR 0
#define PIZZERIA_VERSION_MINOR 1
#define PIZZERIA_VERSION_PATCH 0

#define PIZZERIA_VERSION_TEXT_(x) #x
#define PIZZERIA_VERSION_TEXT(x) PIZZERIA_VERSION_TEXT_(x)

namespace pz {

// "MAJOR.MINOR.PATCH", spelled from the macros above.
inline constexpr std::string_view version =
    PIZZERIA_VERSION_TEXT(PIZZERIA_VERSION_MAJOR) "." PIZZERIA_VERSION_TEXT(
        PIZZERIA_VERSION_MINOR) "." PIZZERIA_VERSION_TEXT(PIZZERIA_VERSION_PATCH);

}  // namespace pz
