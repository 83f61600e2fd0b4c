# The one source list of the firmware core: the host library, the Cortex-M4
# cross build, the tests and the fuzz targets all use it.
FW_CORE_SRCS := $(wildcard firmware_core/src/*.c)
