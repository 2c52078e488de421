// The guard's own user-space CPU per INSERT, without sockets or a server: a PgGuard and its
// ReplyTracker fed the client messages of pgbench's INSERT (simple query with inlined values, and
// Bind/Execute/Sync of a prepared statement) and the server replies a passing INSERT gets, in a
// loop. Prints nanoseconds per INSERT for a guarded table, for an unguarded table mentioned in
// the same session (the forwarding cost with a guard configured), and for the key set alone.
// bench/pg-guard measures the whole proxy; this isolates the part the guard adds, steadily
// enough to compare two builds.
//
//   guard_cpu [INSERTS [simple|prepared]]   (default 1,000,000 of each; keys random, all new)
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "guard/guard_registry.hpp"
#include "protocol/postgres/frontend_messages.hpp"
#include "protocol/postgres/message_writer.hpp"
#include "protocol/postgres/reply_tracker.hpp"
#include "protocol/postgres/session_settings.hpp"
#include "proxy/pg_guard.hpp"

using namespace uniqguard;
namespace pg = uniqguard::protocol::postgres;

namespace {

config::Guard enroll_guard() {
    config::Guard g;
    g.table = "public.enroll_guarded";
    g.columns = {"user_id", "course_id"};
    g.name = "enroll_guarded_key";
    return g;
}

guard::GuardTable enroll_table() {
    guard::GuardTable t;
    t.schema = "public";
    t.name = "enroll_guarded";
    t.qualified_sql = "public.enroll_guarded";
    t.columns = {{.name = "user_id", .type_name = "bigint", .type_oid = 20, .not_null = true},
                 {.name = "course_id", .type_name = "bigint", .type_oid = 20, .not_null = true},
                 {.name = "note", .type_name = "text", .type_oid = 25}};
    t.key_columns = {0, 1};
    t.key_types = {guard::ColumnType{.kind = guard::TypeKind::int8},
                   guard::ColumnType{.kind = guard::TypeKind::int8}};
    return t;
}

struct Message {
    char type;
    std::string raw;  // type, length and body
};

std::vector<Message> split(const std::string& wire) {
    std::vector<Message> out;
    std::size_t at = 0;
    while (at + 5 <= wire.size()) {
        const auto* p = reinterpret_cast<const unsigned char*>(wire.data() + at + 1);
        const std::size_t len =
            (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
        out.push_back({wire[at], wire.substr(at, 1 + len)});
        at += 1 + len;
    }
    return out;
}

struct Session {
    guard::GuardRegistry& registry;
    pg::SessionSettings settings;
    proxy::SessionIdentity identity{"127.0.0.1:1", "bench", "app"};
    pg::ReplyTracker tracker;
    proxy::PgGuard guard{&registry, nullptr, identity, settings};
    std::string out;
    bool in_transaction = false;

    explicit Session(guard::GuardRegistry& r) : registry(r) {
        settings.time_zone = "UTC";
        settings.date_style = "ISO, MDY";
    }
    // One client message through the guard, as PgSession::client_to_server does it.
    void client(const Message& m) {
        const auto raw = util::as_bytes(m.raw);
        const auto body = raw.subspan(5);
        out.clear();
        auto outcome = guard.on_client_message(m.type, body, raw, out, tracker, in_transaction);
        if (!outcome.replaced) tracker.sent(m.type, outcome.use);
    }
    // The server's replies, as the server pump sees them; aborts if one is not forwarded (a
    // check was made: the keys were meant to be new).
    void server(std::string_view codes) {
        for (char c : codes) {
            const auto d = tracker.on_reply(c);
            if (d.action != pg::ReplyAction::forward) {
                std::fprintf(stderr, "guard_cpu: reply %c not forwarded: a check was made\n", c);
                std::exit(1);
            }
            if (c == 'Z') guard.on_ready_for_query(pg::TransactionStatus::idle, tracker.idle());
        }
    }
};

// This thread's CPU time, not the wall clock: other processes on the machine do not count.
double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

template <class F>
double ns_per(std::size_t n, F&& f) {
    const double t0 = thread_cpu_ns();
    for (std::size_t i = 0; i < n; ++i) f(i);
    return (thread_cpu_ns() - t0) / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
    const std::string only = argc > 2 ? argv[2] : "";
    guard::GuardRegistry registry({enroll_guard()});
    registry.guards()[0]->set_ready(enroll_table());

    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::int64_t> uid(1, 4611686018427387904LL);
    std::uniform_int_distribution<std::int64_t> cid(1, 1000000);
    // Texts made beforehand, so that only the proxy's work is timed.
    auto texts = [&](const char* table) {
        std::vector<Message> q;
        q.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            std::string wire;
            pg::append_query(wire, "INSERT INTO " + std::string(table) +
                                       " (user_id, course_id, note) VALUES (" +
                                       std::to_string(uid(rng)) + ", " + std::to_string(cid(rng)) +
                                       ", 'pgbench');");
            q.push_back(split(wire)[0]);
        }
        return q;
    };
    auto binds = [&] {
        std::vector<std::vector<Message>> b;
        b.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            // pgbench --protocol prepared: Bind (text parameters), Execute, Sync.
            std::string wire;
            const std::string a = std::to_string(uid(rng)), c = std::to_string(cid(rng));
            pg::MessageWriter w(wire);
            w.begin('B').cstring("").cstring("P_0").int16(0).int16(2);
            w.int32(static_cast<std::uint32_t>(a.size())).bytes(a);
            w.int32(static_cast<std::uint32_t>(c.size())).bytes(c);
            w.int16(0).finish();
            pg::append_execute(wire, "");
            w.begin('S').finish();
            b.push_back(split(wire));
        }
        return b;
    };
    auto prepare = [&](Session& s, const char* table) {
        std::string wire;
        pg::append_parse(wire, "P_0",
                         "INSERT INTO " + std::string(table) +
                             " (user_id, course_id, note) VALUES ($1, $2, 'pgbench');");
        s.client(split(wire)[0]);
        s.server("1");
    };

    std::printf("guard_cpu: %zu INSERTs per line, user-space ns per INSERT\n", n);
    for (const char* table : {"enroll_guarded", "enroll_plain"}) {
        if (only.empty() || only == "simple") {
            auto q = texts(table);
            Session s(registry);
            const double ns = ns_per(n, [&](std::size_t i) {
                s.client(q[i]);
                s.server("CZ");
            });
            std::printf("simple   %-15s %8.0f\n", table, ns);
        }
        if (only.empty() || only == "prepared") {
            auto b = binds();
            Session s(registry);
            prepare(s, table);
            const double ns = ns_per(n, [&](std::size_t i) {
                for (const auto& m : b[i]) s.client(m);
                s.server("2CZ");
            });
            std::printf("prepared %-15s %8.0f\n", table, ns);
        }
    }
    auto& keys = registry.guards()[0]->keys();
    std::printf("keys in the key set: %zu\n", keys.size());
    return 0;
}
