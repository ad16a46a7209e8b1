// The separately compiled part of Boost.Process v2 (BOOST_PROCESS_V2_SEPARATE_COMPILATION is set for all of
// offload_core and its users, so every other translation unit sees declarations only).
#include <boost/process/v2/src.hpp>
