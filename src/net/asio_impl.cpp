// The compiled part of Boost.Asio (BOOST_ASIO_SEPARATE_COMPILATION is defined for the whole build),
// including Asio's OpenSSL wrappers. This is the only translation unit that includes these.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
