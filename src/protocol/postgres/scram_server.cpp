#include "protocol/postgres/scram_server.hpp"

#include <openssl/rand.h>

#include <cstdio>

#include "util/base64.hpp"

namespace uniqguard::protocol::postgres {

namespace {

// The server's SCRAM_ITERATIONS_DEFAULT and SCRAM_DEFAULT_SALT_LEN, for mock exchanges.
constexpr std::uint32_t mock_iterations = 4096;
constexpr std::size_t mock_salt_bytes = 16;
constexpr std::string_view sqlstate_protocol_violation = "08P01";
constexpr std::string_view sqlstate_invalid_authorization = "28000";
constexpr std::string_view sqlstate_invalid_password = "28P01";
constexpr std::string_view sqlstate_feature_not_supported = "0A000";

// The server's sanitize_char: a printable character quoted, anything else in hex.
std::string sanitize(char c) {
    const auto u = static_cast<unsigned char>(c);
    char out[8];
    if (u >= 0x21 && u <= 0x7e)
        std::snprintf(out, sizeof out, "'%c'", c);
    else
        std::snprintf(out, sizeof out, "0x%02x", u);
    return out;
}

// The server's sanitize_str: printable characters kept, others as '?', at most 30.
std::string sanitize(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 30)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u >= 0x21 && u <= 0x7e) ? c : '?';
    }
    return out;
}

char at(std::string_view s, std::size_t i) { return i < s.size() ? s[i] : '\0'; }

// A reader over one SCRAM message with the server's error details.
class Reader {
  public:
    explicit Reader(std::string_view text) : text_(text) {}
    std::string_view rest() const { return text_.substr(pos_); }
    char peek() const { return at(text_, pos_); }
    void skip() { ++pos_; }
    std::size_t position() const { return pos_; }

    // "<attr>=value" and the comma after it; the error detail when it is not there.
    std::optional<std::string_view> value_of(char attr, std::string& error) {
        if (peek() != attr) {
            error = "Expected attribute \"" + std::string(1, attr) + "\" but found \"" +
                    sanitize(peek()) + "\".";
            return std::nullopt;
        }
        return value_after_name(attr, error);
    }
    // Any "<letter>=value"; `attr` gets the letter.
    std::optional<std::string_view> any_value(char& attr, std::string& error) {
        attr = peek();
        if (attr == '\0') {
            error = "Attribute expected, but found end of string.";
            return std::nullopt;
        }
        if (!((attr >= 'A' && attr <= 'Z') || (attr >= 'a' && attr <= 'z'))) {
            error = "Attribute expected, but found invalid character \"" + sanitize(attr) + "\".";
            return std::nullopt;
        }
        return value_after_name(attr, error);
    }

  private:
    std::optional<std::string_view> value_after_name(char attr, std::string& error) {
        ++pos_;
        if (peek() != '=') {
            error = "Expected character \"=\" for attribute \"" + std::string(1, attr) + "\".";
            return std::nullopt;
        }
        ++pos_;
        const auto comma = text_.find(',', pos_);
        const auto end = comma == std::string_view::npos ? text_.size() : comma;
        const auto value = text_.substr(pos_, end - pos_);
        pos_ = comma == std::string_view::npos ? end : end + 1;
        return value;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

// A per-process secret for mock salts: the same user gets the same salt for the life of the
// process, and nobody can tell a mock salt from a real one.
const scram::Key& mock_secret() {
    static const scram::Key secret = [] {
        scram::Key k{};
        if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) k.fill(0x5a);
        return k;
    }();
    return secret;
}

scram::Verifier mock_verifier(std::string_view user) {
    scram::Verifier v;
    v.iterations = mock_iterations;
    v.salt_base64 = ScramServer::mock_salt_base64(user);
    return v;  // StoredKey and ServerKey stay zero: the exchange is doomed anyway
}

}  // namespace

std::string ScramServer::mock_salt_base64(std::string_view user) {
    scram::Key mac{};
    if (!scram::hmac(mock_secret(), user, mac)) mac.fill(0);
    return util::base64_encode(scram::as_chars(mac).substr(0, mock_salt_bytes));
}

ScramServer::ScramServer(std::optional<scram::Verifier> verifier, std::string user,
                         std::string channel_binding_data, std::string server_nonce)
    : verifier_(verifier ? std::move(*verifier) : mock_verifier(user)),
      doomed_(!verifier),
      user_(std::move(user)),
      channel_binding_data_(std::move(channel_binding_data)),
      server_nonce_(server_nonce.empty() ? scram::random_nonce() : std::move(server_nonce)) {}

std::vector<std::string> ScramServer::mechanisms() const {
    std::vector<std::string> out;
    if (!channel_binding_data_.empty()) out.emplace_back("SCRAM-SHA-256-PLUS");
    out.emplace_back("SCRAM-SHA-256");
    return out;
}

ScramServerStep ScramServer::fail(std::string sqlstate, std::string message, std::string detail) {
    state_ = State::failed;
    return {{}, ScramFailure{std::move(sqlstate), std::move(message), std::move(detail)}};
}

ScramServerStep ScramServer::malformed(std::string detail) {
    return fail(std::string(sqlstate_protocol_violation), "malformed SCRAM message",
                std::move(detail));
}

ScramServerStep ScramServer::handle_client_first(std::string_view mechanism,
                                                 std::string_view message) {
    if (state_ != State::initial) return malformed("Unexpected client-first-message.");
    if (mechanism == "SCRAM-SHA-256-PLUS" && !channel_binding_data_.empty()) {
        binding_in_use_ = true;
    } else if (mechanism != "SCRAM-SHA-256") {
        return fail(std::string(sqlstate_protocol_violation),
                    "client selected an invalid SASL authentication mechanism");
    }
    if (message.empty()) return malformed("The message is empty.");
    if (message.find('\0') != std::string_view::npos)
        return malformed("Message length does not match input length.");
    if (server_nonce_.empty()) return fail("XX000", "could not generate random nonce");

    Reader r(message);
    std::string error;
    gs2_flag_ = r.peek();
    switch (gs2_flag_) {
        case 'n':
        case 'y':
            if (binding_in_use_)
                return malformed(
                    "The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not "
                    "include channel binding data.");
            // 'y': the client could bind but saw no -PLUS. This end can bind (its TLS
            // connection is the client's), so -PLUS was offered: someone took it out.
            if (gs2_flag_ == 'y' && !channel_binding_data_.empty())
                return fail(std::string(sqlstate_invalid_authorization),
                            "SCRAM channel binding negotiation error",
                            "The client supports SCRAM channel binding but thinks the server does "
                            "not.  However, this server does support channel binding.");
            r.skip();
            if (r.peek() != ',')
                return malformed("Comma expected, but found character \"" + sanitize(r.peek()) +
                                 "\".");
            r.skip();
            break;
        case 'p': {
            if (!binding_in_use_)
                return malformed(
                    "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM "
                    "message includes channel binding data.");
            const auto type = r.value_of('p', error);
            if (!type) return malformed(error);
            if (*type != scram::end_point_binding)
                return fail(std::string(sqlstate_protocol_violation),
                            "unsupported SCRAM channel-binding type \"" + sanitize(*type) + "\"");
            break;
        }
        default:
            return malformed("Unexpected channel-binding flag \"" + sanitize(gs2_flag_) + "\".");
    }
    if (r.peek() == 'a')
        return fail(std::string(sqlstate_feature_not_supported),
                    "client uses authorization identity, but it is not supported");
    if (r.peek() != ',')
        return malformed("Unexpected attribute \"" + sanitize(r.peek()) +
                         "\" in client-first-message.");
    r.skip();
    client_first_bare_ = r.rest();
    if (r.peek() == 'm')
        return fail(std::string(sqlstate_feature_not_supported),
                    "client requires an unsupported SCRAM extension");
    // The SCRAM user name is ignored, as by the server: the startup packet's user is the one.
    if (!r.value_of('n', error)) return malformed(error);
    const auto nonce = r.value_of('r', error);
    if (!nonce) return malformed(error);
    // (An empty nonce passes, as on the server: the server's part is random anyway.)
    if (!nonce->empty() && !scram::printable(*nonce))
        return fail(std::string(sqlstate_protocol_violation),
                    "non-printable characters in SCRAM nonce");
    client_nonce_ = *nonce;
    while (r.peek() != '\0') {  // extensions: none supported, all ignored
        char attr = 0;
        if (!r.any_value(attr, error)) return malformed(error);
    }
    server_first_ = "r=" + client_nonce_ + server_nonce_ + ",s=" + verifier_.salt_base64 +
                    ",i=" + std::to_string(verifier_.iterations);
    state_ = State::salt_sent;
    return {server_first_, std::nullopt};
}

ScramServerStep ScramServer::handle_client_final(std::string_view message) {
    if (state_ != State::salt_sent) return malformed("Unexpected client-final-message.");
    if (message.empty()) return malformed("The message is empty.");
    if (message.find('\0') != std::string_view::npos)
        return malformed("Message length does not match input length.");

    Reader r(message);
    std::string error;
    const auto binding = r.value_of('c', error);
    if (!binding) return malformed(error);
    if (binding_in_use_) {
        const std::string expected =
            util::base64_encode(std::string(scram::end_point_gs2_header) + channel_binding_data_);
        if (*binding != expected)
            return fail(std::string(sqlstate_invalid_authorization),
                        "SCRAM channel binding check failed");
    } else if (!(*binding == "biws" && gs2_flag_ == 'n') &&
               !(*binding == "eSws" && gs2_flag_ == 'y')) {
        // "biws" is "n,,", "eSws" is "y,,": the header of the first message, repeated.
        return fail(std::string(sqlstate_protocol_violation),
                    "unexpected SCRAM channel-binding attribute in client-final-message");
    }
    const auto final_nonce = r.value_of('r', error);
    if (!final_nonce) return malformed(error);

    std::size_t proof_at = 0;
    std::optional<std::string_view> proof_text;
    for (;;) {  // extensions before the proof are ignored
        proof_at = r.position();
        char attr = 0;
        proof_text = r.any_value(attr, error);
        if (!proof_text) return malformed(error);
        if (attr == 'p') break;
    }
    const auto proof_raw = util::base64_decode(*proof_text);
    if (!proof_raw || proof_raw->size() != scram::key_size)
        return malformed("Malformed proof in client-final-message.");
    if (r.peek() != '\0') return malformed("Garbage found at the end of client-final-message.");
    // The message without ",p=...": the comma before the proof is not part of it.
    const std::string_view without_proof = message.substr(0, proof_at - 1);

    if (*final_nonce != client_nonce_ + server_nonce_)
        return fail(std::string(sqlstate_protocol_violation), "invalid SCRAM response",
                    "Nonce does not match.");

    // ClientSignature = HMAC(StoredKey, AuthMessage); ClientKey = ClientProof XOR
    // ClientSignature; the proof is right when H(ClientKey) == StoredKey. Computed in a mock
    // exchange too, so that its timing does not tell that the role is unknown.
    const std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
    scram::SecretKey proof, signature, stored;
    std::copy(proof_raw->begin(), proof_raw->end(), proof.bytes.begin());
    const bool computed = scram::hmac(verifier_.stored_key.bytes, auth_message, signature.bytes);
    client_key_.bytes = scram::exclusive_or(proof.bytes, signature.bytes);
    const bool hashed = scram::hash(client_key_.bytes, stored.bytes);
    const bool matches =
        computed && hashed && scram::equal(stored.bytes, verifier_.stored_key.bytes);
    if (!matches || doomed_) {
        client_key_ = {};
        return fail(std::string(sqlstate_invalid_password),
                    "password authentication failed for user \"" + user_ + "\"");
    }
    scram::SecretKey server_signature;
    if (!scram::hmac(verifier_.server_key.bytes, auth_message, server_signature.bytes))
        return fail("XX000", "could not calculate server signature");
    state_ = State::finished;
    authenticated_ = true;
    return {"v=" + util::base64_encode(scram::as_chars(server_signature.bytes)), std::nullopt};
}

}  // namespace uniqguard::protocol::postgres
