"""Text processing, the lowest layer: script/vocabulary normalization (OpenCC), segmentation
(jieba), paragraphs and passages, English-to-Chinese query translation, keyword tokens and
match highlighting. Nothing here knows about storage, models or the engine."""
