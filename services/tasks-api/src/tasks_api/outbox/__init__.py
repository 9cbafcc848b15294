"""The transactional outbox: events written with their change, and the relay that publishes them."""
