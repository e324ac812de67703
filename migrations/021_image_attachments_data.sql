ALTER TABLE image_attachments ADD COLUMN image_data BLOB;
