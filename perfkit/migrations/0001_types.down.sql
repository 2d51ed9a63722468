DROP TYPE IF EXISTS address;
DROP TYPE IF EXISTS notification_type;
DROP TYPE IF EXISTS post_status;
DROP TYPE IF EXISTS user_role;
