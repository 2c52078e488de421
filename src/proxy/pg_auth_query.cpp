#include "proxy/pg_auth_query.hpp"

#include <openssl/crypto.h>

#include "pgclient/connection.hpp"
#include "util/gcc12_coroutine_frames.hpp"

namespace uniqguard::proxy {

asio::awaitable<AuthQueryAnswer> read_scram_verifier(const config::Config& config,
                                                     ssl::context& backend_tls, std::string user) {
    AuthQueryAnswer answer;
    pgclient::PgConnection conn;
    if (auto st = co_await conn.connect(config.backend, backend_tls); !st) {
        answer.error =
            "the proxy's account (backend.user) cannot connect: " + st.error().describe();
        co_return answer;
    }
    // Not a braced list inside the co_await (GCC 12, see guard_inspection.cpp).
    std::vector<std::optional<std::string>> params;
    params.emplace_back(std::move(user));
    auto result = co_await conn.query_params(config.listen.auth_query, params);
    co_await conn.close();
    if (!result) {
        answer.error = "listen.auth_query failed: " + result.error().describe();
        co_return answer;
    }
    if (result->rows.empty()) co_return answer;  // no such role
    auto& row = result->rows.front();
    if (row.empty()) {
        answer.error = "listen.auth_query returned no column";
        co_return answer;
    }
    auto& password = row.size() >= 2 ? row[1] : row[0];
    if (password) {
        answer.verifier = protocol::postgres::scram::parse_verifier(*password);
        OPENSSL_cleanse(password->data(), password->size());
    }
    co_return answer;
}

}  // namespace uniqguard::proxy
