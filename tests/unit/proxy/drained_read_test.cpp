// DrainedReadSocket (proxy/drained_read.hpp) over a real loopback TCP connection: a read that
// emptied the socket must still see what comes after it, bytes or an end of file, including an
// end of file that arrived together with the last bytes (the case a short read alone misses).
#include "proxy/drained_read.hpp"

#include <poll.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>

using namespace uniqguard::proxy;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Connection {
    asio::io_context io{1};
    tcp::socket client{io};
    std::optional<DrainedReadSocket> server;

    Connection() {
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        client.connect(acceptor.local_endpoint());
        server.emplace(acceptor.accept());
    }

    // Waits until the server side has received the client's FIN.
    bool fin_arrived() {
        pollfd p{server->native_handle(), POLLRDHUP, 0};
        return ::poll(&p, 1, 2000) == 1 && (p.revents & POLLRDHUP);
    }
};

struct ReadResult {
    bool done = false;
    boost::system::error_code ec;
    std::string bytes;
};

void read_into(DrainedReadSocket& socket, char (&buffer)[256], ReadResult& result) {
    socket.async_read_drained(asio::buffer(buffer),
                              [&result, &buffer](boost::system::error_code ec, std::size_t n) {
                                  result = {true, ec, std::string(buffer, n)};
                              });
}

}  // namespace

TEST_CASE("drained read: bytes and a FIN that arrive together give the bytes, then eof",
          "[drained_read]") {
    Connection c;
    asio::write(c.client, asio::buffer(std::string("abc")));
    c.client.shutdown(tcp::socket::shutdown_send);
    REQUIRE(c.fin_arrived());
    char buffer[256];
    ReadResult first, second;
    read_into(*c.server, buffer, first);
    c.io.run_for(std::chrono::seconds(2));
    REQUIRE(first.done);
    CHECK(!first.ec);
    CHECK(first.bytes == "abc");
    c.io.restart();
    read_into(*c.server, buffer, second);
    c.io.run_for(std::chrono::seconds(2));
    REQUIRE(second.done);  // before TCP_INQ, this read waited forever
    CHECK(second.ec == asio::error::eof);
    CHECK(second.bytes.empty());
}

TEST_CASE(
    "drained read: after a read that emptied the socket, later bytes still complete the "
    "next read",
    "[drained_read]") {
    Connection c;
    asio::write(c.client, asio::buffer(std::string("Sync")));
    char buffer[256];
    ReadResult first, second;
    read_into(*c.server, buffer, first);
    c.io.run_for(std::chrono::seconds(2));
    REQUIRE(first.done);
    CHECK(first.bytes == "Sync");
    c.io.restart();
    // The next read is queued first (nothing to read), then the peer writes.
    read_into(*c.server, buffer, second);
    asio::steady_timer later(c.io, std::chrono::milliseconds(50));
    later.async_wait([&](boost::system::error_code) {
        asio::write(c.client, asio::buffer(std::string("next")));
    });
    c.io.run_for(std::chrono::seconds(2));
    REQUIRE(second.done);
    CHECK(!second.ec);
    CHECK(second.bytes == "next");
}

TEST_CASE("drained read: a FIN alone after a read that emptied the socket gives eof",
          "[drained_read]") {
    Connection c;
    asio::write(c.client, asio::buffer(std::string("Q")));
    char buffer[256];
    ReadResult first, second;
    read_into(*c.server, buffer, first);
    c.io.run_for(std::chrono::seconds(2));
    REQUIRE(first.done);
    c.io.restart();
    read_into(*c.server, buffer, second);
    asio::steady_timer later(c.io, std::chrono::milliseconds(50));
    later.async_wait(
        [&](boost::system::error_code) { c.client.shutdown(tcp::socket::shutdown_send); });
    c.io.run_for(std::chrono::seconds(2));
    REQUIRE(second.done);
    CHECK(second.ec == asio::error::eof);
}
