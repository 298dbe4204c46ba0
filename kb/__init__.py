"""Comparative knowledge base of Chinese city tech-finance policy (科技金融 / 科创金融).

The pipeline is a chain of visible stages, each a module with plain data in and out:

    read   -> kb.read.read_corpus(corpus_dir)            -> [document]
              (each file through kb.formats.extract: .txt .md .html .pdf .docx -> text)
    clean  -> kb.clean.clean(raw_text, document)          -> [paragraph str]
    split  -> kb.split.split(paragraphs)                  -> [passage]  (section, text, position)
    tag    -> kb.tag.tag_passages(document, passages, vocab) -> [passage] (+ id, cities, instruments, years…)
    figures-> kb.figures.extract(passages, vocab)         -> [figure]
    index  -> kb.index.build_index(passages, index_dir)   (Whoosh)
    export -> kb.export.write_exports(...)                (output/data/)
    render -> kb.render.render_site(...)                  (output/ HTML + static search index)

`kb.pipeline` runs them (with a content-hash cache and worker processes);
`build.py` only parses arguments and calls `kb.pipeline` / `kb.search` / `kb.draft`
(which drafts the sidecar of a new document for ``build.py add``).

Curated knowledge lives in data files under `kb/data/` (see `kb.vocab`).
"""

__version__ = "0.1.0"
