# libvdeplug, the library QEMU and vde_plug use, as the imported target Vdeplug::vdeplug.
# Debian's libvdeplug-dev ships no pkg-config file, so the header and library are looked up
# directly when pkg-config does not know it.
include(FindPackageHandleStandardArgs)

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_VDEPLUG QUIET vdeplug)
endif()
find_path(VDEPLUG_INCLUDE_DIR libvdeplug.h HINTS ${PC_VDEPLUG_INCLUDE_DIRS})
find_library(VDEPLUG_LIBRARY vdeplug HINTS ${PC_VDEPLUG_LIBRARY_DIRS})
find_package_handle_standard_args(Vdeplug REQUIRED_VARS VDEPLUG_LIBRARY VDEPLUG_INCLUDE_DIR)

if(Vdeplug_FOUND AND NOT TARGET Vdeplug::vdeplug)
  add_library(Vdeplug::vdeplug UNKNOWN IMPORTED)
  # An imported target's include directories are system ones: its header's warnings are not ours.
  set_target_properties(Vdeplug::vdeplug PROPERTIES
    IMPORTED_LOCATION "${VDEPLUG_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${VDEPLUG_INCLUDE_DIR}")
endif()
mark_as_advanced(VDEPLUG_INCLUDE_DIR VDEPLUG_LIBRARY)
