"""Briefs: a list's (or a period's) facts as a document a partner would forward — HTML, DOCX
and PDF, in Chinese, English or both (``facts`` → ``text`` → ``render``)."""
