// RFC 7677, section 3: the SCRAM-SHA-256 example exchange (user "user", password "pencil"), for
// the client's tests and the server's.
#pragma once

namespace uniqguard::test::rfc7677 {

inline constexpr const char* client_nonce = "rOprNGfwEbeRWgbNEkqO";
inline constexpr const char* client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
inline constexpr const char* server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
inline constexpr const char* server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
inline constexpr const char* client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
inline constexpr const char* server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

}  // namespace uniqguard::test::rfc7677
