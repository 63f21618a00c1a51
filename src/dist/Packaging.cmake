# Boot persistence (systemd template units) and the Debian package (issue 24,
# items 4 and 6). Included from CMakeLists.txt after the other install() rules.

# The units name the installed binary and the configuration files, so they
# are written at install time, for the prefix the install goes to:
#   cmake --install build                    /usr/local/bin/p0fbpf, /usr/local/lib/systemd/system
#   cmake --install build --prefix /tmp/x    /tmp/x/bin/p0fbpf, /tmp/x/lib/systemd/system (tests)
#   cpack (CPACK_PACKAGING_INSTALL_PREFIX /usr)  /usr/bin/p0fbpf, systemd's own unit directory
# The files they read are in /etc/p0fbpf for /usr and /usr/local, and in
# PREFIX/etc/p0fbpf for any other prefix.
set(_p0fbpf_unit_dir "")
if(PKG_CONFIG_FOUND)
  pkg_get_variable(_p0fbpf_unit_dir systemd systemdsystemunitdir)
endif()
if(NOT _p0fbpf_unit_dir)
  set(_p0fbpf_unit_dir /lib/systemd/system)  # Debian's
endif()
set(P0FBPF_SYSTEMD_UNIT_DIR "${_p0fbpf_unit_dir}" CACHE PATH
    "where the systemd units go when the install prefix is /usr (systemd's systemdsystemunitdir)")
set(P0FBPF_UNITS
  ${PROJECT_SOURCE_DIR}/src/dist/p0fbpf-xdp@.service.in
  ${PROJECT_SOURCE_DIR}/src/dist/p0fbpf-pin@.service.in
)
# `systemctl help p0fbpf-xdp@eth0` opens the man page, where it is installed.
set(_p0fbpf_documentation "")
if(P0FBPF_MAN)
  set(_p0fbpf_documentation "Documentation=man:p0fbpf(1)")
endif()
install(CODE "
  set(P0FBPF_DOCUMENTATION \"${_p0fbpf_documentation}\")
  set(_prefix \"\${CMAKE_INSTALL_PREFIX}\")
  if(_prefix STREQUAL \"/usr\")
    set(_unit_dir \"${P0FBPF_SYSTEMD_UNIT_DIR}\")
  else()
    set(_unit_dir \"\${_prefix}/lib/systemd/system\")
  endif()
  if(_prefix STREQUAL \"/usr\" OR _prefix STREQUAL \"/usr/local\")
    set(P0FBPF_CONFIG_DIR /etc/p0fbpf)
  else()
    set(P0FBPF_CONFIG_DIR \"\${_prefix}/etc/p0fbpf\")
  endif()
  set(P0FBPF_BINDIR \"\${_prefix}/${CMAKE_INSTALL_BINDIR}\")
  # One scratch directory per destination: concurrent installs (the tests')
  # to prefixes of their own do not write each other's units.
  string(MD5 _scratch \"\$ENV{DESTDIR}\${_prefix}\")
  foreach(_template ${P0FBPF_UNITS})
    get_filename_component(_name \"\${_template}\" NAME)
    string(REGEX REPLACE \"[.]in\$\" \"\" _name \"\${_name}\")
    configure_file(\"\${_template}\" \"${CMAKE_CURRENT_BINARY_DIR}/units/\${_scratch}/\${_name}\" @ONLY)
    file(INSTALL \"${CMAKE_CURRENT_BINARY_DIR}/units/\${_scratch}/\${_name}\" DESTINATION \"\${_unit_dir}\"
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endforeach()
")

# What Debian asks of every package: the licence in machine-readable form
# and a changelog, in /usr/share/doc/p0fbpf (both for cmake --install too).
set(P0FBPF_DEB_MAINTAINER "The p0fbpf developers <p0fbpf@users.noreply.example.org>" CACHE STRING
    "the .deb's Maintainer field (and its changelog's signer)")
string(TIMESTAMP _p0fbpf_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog
"p0fbpf (${PROJECT_VERSION}) unstable; urgency=medium

  * p0fbpf ${PROJECT_VERSION}, packaged by CPack from its source tree.

 -- ${P0FBPF_DEB_MAINTAINER}  ${_p0fbpf_date}
")
execute_process(COMMAND gzip -9nf ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog RESULT_VARIABLE _p0fbpf_gzip)
if(NOT _p0fbpf_gzip EQUAL 0)
  message(FATAL_ERROR "gzip of ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog failed")
endif()
install(FILES ${PROJECT_SOURCE_DIR}/src/dist/copyright ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# cpack -G DEB in the build directory: p0fbpf_VERSION_amd64.deb, for /usr.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME p0fbpf)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${P0FBPF_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${P0FBPF_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "compile p0f TCP signatures into BPF for iptables, tc and XDP")
set(CPACK_PACKAGE_DESCRIPTION
"p0fbpf turns p0f TCP SYN and SYN+ACK signatures into classic BPF programs
for iptables -m bpf and tc, and into eBPF programs that it attaches to a
device's XDP hook or pins for iptables --object-pinned, each accepting
exactly the packets p0f would match. It fingerprints captures, suggests
signatures that separate an attack from normal traffic, and writes
firewall scripts that change the rules all or nothing. systemd template
units bring the XDP program and the pinned rules back at boot.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The scripts it writes run bash, flock (util-linux) and iptables or tc.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "iptables, iproute2")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# Absolute destinations (the unit directory) go into the package as they are.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
