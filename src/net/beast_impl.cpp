// The compiled part of Boost.Beast (BOOST_BEAST_SEPARATE_COMPILATION is defined for the whole build).
// This is the only translation unit that includes it.
#include <boost/beast/src.hpp>
