#include "proxy/drained_read.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

namespace uniqguard::proxy {
namespace {

// Closes a descriptor at scope exit.
struct Descriptor {
    int fd = -1;
    ~Descriptor() {
        if (fd >= 0) ::close(fd);
    }
};

// One byte and a FIN over a loopback connection, then a read of more than one byte: a kernel
// that counts the FIN reports 1 byte left, one that does not reports 0. Any failure on the way
// (no loopback, no TCP_INQ) answers false, and reads stay Asio's own.
bool probe_fin_counted() {
    Descriptor listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    Descriptor client{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (listener.fd < 0 || client.fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener.fd, 1) != 0 ||
        ::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        ::connect(client.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        return false;
    Descriptor server{::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC)};
    const int on = 1;
    if (server.fd < 0 || ::setsockopt(server.fd, SOL_TCP, TCP_INQ, &on, sizeof on) != 0)
        return false;
    const char byte = 'x';
    if (::send(client.fd, &byte, 1, MSG_NOSIGNAL) != 1 || ::shutdown(client.fd, SHUT_WR) != 0)
        return false;
    // Wait (at most a second) until the FIN is there, so the answer does not depend on timing.
    pollfd p{server.fd, POLLRDHUP, 0};
    if (::poll(&p, 1, 1000) != 1 || !(p.revents & POLLRDHUP)) return false;
    char data[16];
    const auto r = drained_read_detail::recv_counting_queued(server.fd, boost::asio::buffer(data),
                                                             MSG_DONTWAIT);
    return r.n == 1 && r.queued == 1;
}

}  // namespace

bool kernel_counts_fin_in_inq() {
    static const bool counted = probe_fin_counted();
    return counted;
}

}  // namespace uniqguard::proxy
