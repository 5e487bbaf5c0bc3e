"""Every text the app shows, in each interface language."""
from __future__ import annotations


TEXT = {
    "zh": {
        "title": "docsearch 文献检索", "ask": "提问", "lookup": "查词", "library": "文献库", "read": "阅读",
        "page": "页面", "lang": "界面语言", "script": "正文显示", "as_written": "原文", "simp": "简体", "trad": "繁體",
        "question": "输入问题(简体、繁體或英文)", "go": "提问", "answer": "答案", "passages": "出处段落",
        "understood": "检索词", "translated": "英文词译为", "no_results": "没有找到相关段落。",
        "keyword": "关键词(可多个,或用引号括起的短语)", "find": "查找", "matches": "处匹配",
        "per_article": "各文章匹配数", "context": "上下文(前后段落)", "open": "阅读全文",
        "history": "本次提问记录", "articles": "文章", "add": "添加文章", "upload": "上传文件",
        "paste": "粘贴文本", "paste_title": "标题", "paste_text": "正文", "source": "来源", "date": "日期",
        "add_button": "添加", "add_files": "添加上传的文件", "added": "已添加", "duplicate": "内容已在文献库中,对应文章", "refused": "未添加",
        "remove": "删除文章", "confirm": "确认删除(不可撤销)", "remove_button": "删除", "removed": "已删除",
        "pick": "选择文章", "paragraph": "第{n}段", "empty_corpus": "文献库是空的:请先在“文献库”页添加文章。",
        "too_big": "文件超过 {mb} MB 上限", "type_refused": "不支持的文件类型",
        "no_article": "找不到这篇文章。",
        "editor": "编辑登录", "password": "编辑密码", "sign_in": "登录", "sign_out": "退出登录",
        "signed_in": "已作为编辑登录", "bad_password": "密码不对", "read_only": "此文献库为只读:不能添加或删除文章。",
        "readers_only": "添加或删除文章需要编辑登录(侧栏)。",
    },
    "en": {
        "title": "docsearch", "ask": "Ask", "lookup": "Look up", "library": "Library", "read": "Read",
        "page": "Page", "lang": "Interface", "script": "Show text as", "as_written": "as written", "simp": "Simplified",
        "trad": "Traditional", "question": "Your question (Simplified, Traditional or English)", "go": "Ask",
        "answer": "Answer", "passages": "Cited passages", "understood": "Searched for",
        "translated": "English translated as", "no_results": "No passages found.",
        "keyword": "Keyword (several words, or a quoted phrase)", "find": "Find", "matches": "matches",
        "per_article": "Matches per article", "context": "Context (neighbouring paragraphs)", "open": "Read the article",
        "history": "Questions this session", "articles": "Articles", "add": "Add articles", "upload": "Upload files",
        "paste": "Paste text", "paste_title": "Title", "paste_text": "Text", "source": "Source", "date": "Date",
        "add_button": "Add", "add_files": "Add the uploaded files", "added": "Added", "duplicate": "Already in the library as", "refused": "Not added",
        "remove": "Remove an article", "confirm": "Yes, remove it (cannot be undone)", "remove_button": "Remove",
        "removed": "Removed", "pick": "Article", "paragraph": "¶{n}",
        "empty_corpus": "The library is empty: add articles on the Library page.",
        "too_big": "file is over the {mb} MB limit", "type_refused": "unsupported file type",
        "no_article": "No such article.",
        "editor": "Editor sign-in", "password": "Editor password", "sign_in": "Sign in", "sign_out": "Sign out",
        "signed_in": "Signed in as editor", "bad_password": "Wrong password", "read_only":
        "This library is read-only: articles cannot be added or removed.",
        "readers_only": "Adding or removing articles needs an editor sign-in (sidebar).",
    },
}


PAGES = ("ask", "lookup", "library", "read")
