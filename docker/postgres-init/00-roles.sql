-- The proxy's own account in the compose dev stack (docker-compose.yml); scripts/dev-stack
-- creates its roles itself and runs only 01-demo.sql. A development password.
CREATE ROLE uniqguard LOGIN PASSWORD 'uniqguard-dev';
