-- The proxy's own account in the compose dev stack (docker-compose.yml), after 01-demo.sql made
-- the table; scripts/dev-stack creates its users itself. A development password.
CREATE USER 'uniqguard'@'%' IDENTIFIED BY 'uniqguard-dev';
GRANT SELECT ON app.courses_enroll TO 'uniqguard'@'%';
