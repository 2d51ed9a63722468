-- The guide's ENUM types and the composite address type.
CREATE TYPE user_role AS ENUM ('user', 'moderator', 'admin');
CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived');
CREATE TYPE notification_type AS ENUM ('comment', 'like', 'follow', 'system');
CREATE TYPE address AS (
    street varchar(100),
    city varchar(50),
    state varchar(50),
    country varchar(50),
    postal_code varchar(20)
);
