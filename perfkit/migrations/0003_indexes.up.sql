-- Secondary indexes: every one the guide lists, plus the ones perfkit's scenarios rely on.
-- One CREATE INDEX per line: the seeder reads these statements to drop them before a load and rebuild them after.
CREATE INDEX idx_users_email ON users (email);
CREATE INDEX idx_users_role ON users (role);
CREATE INDEX idx_posts_author_id ON posts (author_id);
CREATE INDEX idx_posts_status ON posts (status);
CREATE INDEX idx_posts_published_at ON posts (published_at) WHERE status = 'published';
CREATE INDEX idx_post_tags_post_id ON post_tags (post_id);
CREATE INDEX idx_post_tags_tag_id ON post_tags (tag_id);
CREATE INDEX idx_posts_author_status ON posts (author_id, status);
CREATE INDEX idx_posts_status_created ON posts (status, created_at DESC);
CREATE INDEX idx_user_settings_preferences ON user_settings USING gin (preferences);
CREATE INDEX idx_notification_email ON user_settings USING gin ((notification_settings -> 'email'));
CREATE INDEX idx_posts_created_id ON posts (created_at DESC, id DESC);
CREATE INDEX idx_comments_post_id ON comments (post_id);
CREATE INDEX idx_comments_author_id ON comments (author_id);
CREATE INDEX idx_notifications_user_created ON notifications (user_id, created_at DESC);
