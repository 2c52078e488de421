#include "protocol/postgres/query_cycle.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::protocol::postgres;

TEST_CASE("SimpleQueryIsInFlightUntilReadyForQuery", "[query_cycle]") {
    QueryCycle c;
    CHECK(c.idle());
    c.on_client_message('Q');
    CHECK_FALSE(c.idle());
    c.on_ready_for_query(TransactionStatus::in_block);
    CHECK(c.idle());
    CHECK(c.transaction_status() == TransactionStatus::in_block);
}

TEST_CASE("PipelinedSyncsOweOneReadyForQueryEach", "[query_cycle]") {
    QueryCycle c;
    for (char m : {'P', 'B', 'E', 'S', 'B', 'E', 'S'}) c.on_client_message(m);
    CHECK(c.ready_owed() == 2);
    c.on_ready_for_query(TransactionStatus::idle);
    CHECK_FALSE(c.idle());
    c.on_ready_for_query(TransactionStatus::idle);
    CHECK(c.idle());
}

TEST_CASE("ExtendedMessagesWithoutSyncAreInFlight", "[query_cycle]") {
    QueryCycle c;
    c.on_client_message('P');
    c.on_client_message('H');
    CHECK(c.ready_owed() == 0);
    CHECK_FALSE(c.idle());
    c.on_client_message('S');
    c.on_ready_for_query(TransactionStatus::idle);
    CHECK(c.idle());
}

TEST_CASE("CopyDataBelongsToItsQuery", "[query_cycle]") {
    QueryCycle c;
    c.on_client_message('Q');
    c.on_client_message('d');
    c.on_client_message('c');
    CHECK(c.ready_owed() == 1);
    c.on_ready_for_query(TransactionStatus::idle);
    CHECK(c.idle());
}
