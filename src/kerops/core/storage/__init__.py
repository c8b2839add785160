"""Uploaded files: where they are stored (:mod:`.backends`), how a request receives and writes
them (:mod:`.uploads`), which ones are accepted (:mod:`.sniffing`), how they are downloaded
(:mod:`.downloads`) and how orphan objects are swept (:mod:`.sweep`)."""
