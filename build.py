#!/usr/bin/env python3
"""科技金融政策比较知识库 — build the knowledge base and site, or search it.

    python build.py [--corpus DIR] [--out DIR] [--base-url URL] [--jobs N]
    python build.py search QUERY [--city 广州] [--instrument credit] [--year 2024]
                               [--doc ID] [--limit N] [--json] [--out DIR]
    python build.py search --queries FILE [--out DIR]
    python build.py add FILE [--url URL] [--id ID] [--yes] [--title …] [--date …] …

This file only parses arguments and calls the pipeline (kb.pipeline), the
searcher (kb.search) or the sidecar drafter (kb.draft).
"""

import argparse
import json
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent

BUILD_EPILOG = """\
示例 / examples:
  python build.py                              语料 corpus/ → 输出 output/
  python build.py --corpus my_corpus --out site --base-url https://example.org/kb/
  python build.py search 投贷联动 --city 武汉     在已建好的索引中检索（见 search --help）
  python build.py add 通知.pdf --url URL         加入一份文档并起草元数据（见 add --help）

出错时（元数据缺失或格式错误、未知取值、无法解码、二进制文件、空文件、加密或扫描版 PDF、
没有正文的网页、编号重复、链接指向语料目录之外）打印一行“错误: 文件: 问题”并以非零状态
退出；原有 output/ 保持不变。语料目录中未读取的条目（其他扩展名、子目录、隐藏文件）
逐个提示“已忽略”及原因。

同一输出目录同时只能有一个构建：后启动的构建提示并等待前一个完成（最多 --wait 秒，
默认 600），超时则报错退出。新输出整体替换旧输出（Linux 上为原子交换），不会出现
output/ 缺失或半成品。
"""

SEARCH_EPILOG = """\
查询语法 / query syntax（命令行与网页检索是同一个查询模型，见 README「查询语法」）:
  检索词按空格和标点（中英文）分开，再切成词；同时包含全部检索词的段落排在最前，
  其次是包含大部分检索词的段落（不会因为一个词没有出现而返回空结果）。
  城市名、别名（光谷、东湖高新区）和省份会识别为“城市”：以该城市为主题的段落
  （含章节继承）优先；政策工具名称或识别用词（科技保险、投贷联动）会提升带该标签的段落。
  "引号" 内为短语，必须原样出现。繁体、全角和“首台(套)”式括注会统一（首台(套) = 首台套）。
  城市别称（江城、鹏城）也识别为城市；错一个字的词会更正并提示（融资但保 → 融资担保）；
  文献中从未出现的英文缩写按其中文术语检索并提示（FOF → 母基金，见 kb/data/query.yaml）。
  查询最长 100 个字符、最多 8 个部分，超出部分会被忽略并提示。

--queries FILE 每行一个 JSON：{"q": "投贷联动", "city": "武汉", "instrument": "linkage", "year": 2025}
  （过滤条件可省略；另可有 "doc": 文档编号、"limit": 条数），每行输出
  {"q": ..., "ids": [按相关度排序的段落编号]}。有误的行报“文件:行号: 问题”并退出。

示例 / examples:
  python build.py search 知识产权质押 --city 武汉 --limit 5
  python build.py search "风险补偿" --instrument risk-sharing --json
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``错误: <argument>: <problem>``, exit status 2."""

    def error(self, message):
        self.exit(2, f"错误: {message}（见 {self.prog} --help）\n")


def _count(minimum):
    """argparse type: an integer >= ``minimum``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"应为整数：{text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"应为不小于 {minimum} 的整数：{text}")
        return value
    return parse


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"应为不小于 0 的秒数：{text!r}")
    return value


def _build_parser():
    p = _Parser(
        prog="python build.py",
        description="构建知识库：读取语料（正文 + YAML 元数据），清洗、切分、标注段落，"
                    "建立 Whoosh 索引，导出数据（output/data/），生成静态网站（output/）。"
                    "检索请用子命令 search。",
        epilog=BUILD_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(ROOT / "corpus"), metavar="DIR",
                   help="语料目录：<编号>.txt|.md|.html|.pdf|.docx + <编号>.yaml（默认 corpus/）")
    p.add_argument("--out", default=str(ROOT / "output"), metavar="DIR",
                   help="输出目录（默认 output/）；构建成功后才替换")
    p.add_argument("--base-url", default=None, metavar="URL",
                   help="网站发布地址（如 https://example.org/kb/）：给出时才生成 sitemap.xml（列出全部页面的绝对网址），"
                        "并用于 404 页面的链接和复制引文中的段落网址")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="分词与标注缓存目录（默认为输出目录旁的 .kbcache/）")
    p.add_argument("--jobs", type=_count(1), default=None, metavar="N",
                   help="并行进程数（默认 min(2, CPU 数)）")
    p.add_argument("--wait", type=_seconds, default=None, metavar="SECONDS",
                   help="另一个构建正在写入同一输出目录时最多等待的秒数（默认 600；0 表示不等待、直接报错）")
    p.add_argument("--no-progress", action="store_true", help="不显示进度条")
    p.add_argument("--quiet", action="store_true", help="只在出错时输出")
    return p


def _search_parser():
    from kb.read import DOC_TYPES

    p = _Parser(
        prog="python build.py search",
        description="在已构建的 Whoosh 索引（<out>/index/）中检索段落：与网页检索同一个查询模型（城市、政策工具识别，部分匹配，BM25 排序），结果注明文献与章节，摘要高亮命中词。",
        epilog=SEARCH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", nargs="?", help="检索词（可含空格与引号短语）")
    p.add_argument("--city", help="按主题城市过滤：中文名或拼音，如 广州 / guangzhou")
    p.add_argument("--instrument", help="按政策工具过滤：如 credit、equity（见 output/data/taxonomy.json）")
    p.add_argument("--year", type=int, help="按发布年份（文献日期的年份）过滤，如 2024")
    p.add_argument("--doc", help="按文档编号过滤，如 002_8e8fbbf27cdab432")
    p.add_argument("--type", choices=DOC_TYPES,
                   help="按文献类型过滤：policy 政策文件 / report 研究报告 / news 新闻报道 / commentary 评论")
    p.add_argument("--limit", type=_count(0), default=10, metavar="N",
                   help="最多返回条数（默认 10；0 表示返回全部匹配段落）")
    p.add_argument("--json", action="store_true", help="输出 JSON（含编号、得分、标签、摘要、链接）")
    p.add_argument("--queries", metavar="FILE", help="批量检索：JSON lines 文件，输出 JSON lines")
    p.add_argument("--out", default=str(ROOT / "output"), metavar="DIR",
                   help="构建输出目录（默认 output/）")
    return p


ADD_EPILOG = """\
支持的格式 / formats: .txt .md（UTF-8 或 GB18030）、.html/.htm（保存的网页，自动提取正文）、
.pdf（需有文字层；扫描件请先做文字识别）、.docx（Word）。

add 从文件中推断元数据并逐项说明依据：标题（网页标题、公文标题或首个标题行）、发布机构
（落款、“来源：”或报头）、日期（落款日期、发布时间、印发日期、版面日期）、发文字号、
类型（policy | report | news | commentary）和所属城市。推断不出的必填项会报错并指明字段，
可用对应参数补上；任何一项都可以用参数改写。确认后把文件复制到语料目录，写入 <编号>.yaml。

示例 / examples:
  python build.py add ~/下载/通知.pdf --url https://example.gov.cn/zcwj/1.html
  python build.py add page.html --id sz_2024_kjrz --yes
  python build.py add 方案.docx --date 2024-02-20 --publisher 陕西省地方金融管理局 --yes
"""


def _add_parser():
    p = _Parser(
        prog="python build.py add",
        description="把一份文档（网页、PDF、Word 或文本）加入语料：复制到语料目录，"
                    "并根据正文起草元数据文件 <编号>.yaml，逐项显示推断依据，确认后写入。",
        epilog=ADD_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", help="要加入的文件")
    p.add_argument("--url", help="原文网址（http:// 或 https://），显示在文档页并用于引用")
    p.add_argument("--id", dest="doc_id", metavar="ID",
                   help="文档编号（字母、数字、_ . -）；默认用文件名，文件名不合格时用 <序号>_<哈希>")
    p.add_argument("--corpus", default=str(ROOT / "corpus"), metavar="DIR", help="语料目录（默认 corpus/）")
    p.add_argument("--yes", "-y", action="store_true", help="不询问，直接写入草稿（非交互使用时必需）")
    for name, what in (("title", "标题"), ("publisher", "发布机构"), ("date", "日期 YYYY、YYYY-MM 或 YYYY-MM-DD"),
                       ("type", "类型 policy | report | news | commentary"), ("home-city", "所属城市（我市指谁）"),
                       ("doc-number", "发文字号"), ("date-note", "日期说明")):
        p.add_argument(f"--{name}", metavar="VALUE", help=f"指定{what}，覆盖推断结果")
    return p


def add_main(argv):
    args = _add_parser().parse_args(argv)
    from kb import draft
    from kb.errors import InputError
    from kb.vocab import load_vocab

    overrides = {"title": args.title, "publisher": args.publisher, "date": args.date, "type": args.type,
                 "home_city": args.home_city, "doc_number": args.doc_number, "date_note": args.date_note}
    vocab = load_vocab()
    try:
        doc_id, fields, missing = draft.prepare(args.file, args.corpus, vocab, url=args.url,
                                                doc_id=args.doc_id, overrides=overrides)
    except InputError as exc:
        return _fail(str(exc))
    print(f"元数据草稿 {Path(args.corpus) / (doc_id + '.yaml')}（依据见每行注释）：")
    print(draft.sidecar_yaml(fields), end="")
    if missing:
        flags = "、".join(f"--{k.replace('_', '-')}" for k in missing)
        return _fail(f"{args.file}: 无法推断 {', '.join(missing)}，请用 {flags} 指定（未写入任何文件）")
    if not args.yes:
        if not sys.stdin.isatty():
            return _fail(f"{args.file}: 未确认：请检查草稿后加 --yes 写入（未写入任何文件）")
        try:
            answer = input("写入以上元数据并复制文件？[y/N] ").strip().lower()
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer not in ("y", "yes", "是"):
            print("已取消，未写入任何文件。")
            return 1
    try:
        target, sidecar = draft.write(args.file, args.corpus, doc_id, fields, vocab.city_names)
    except InputError as exc:
        return _fail(str(exc))
    print(f"已加入：{target}\n      {sidecar}\n运行 python build.py 重新构建。")
    return 0


def _fail(message, code=2):
    print(f"错误: {message}", file=sys.stderr)
    return code


def build_main(argv):
    args = _build_parser().parse_args(argv)
    from kb import pipeline
    from kb.errors import InputError

    def notify(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    wait = pipeline.LOCK_WAIT if args.wait is None else args.wait
    try:
        result = pipeline.build(args.corpus, args.out, cache_dir=args.cache,
                                progress=not (args.no_progress or args.quiet),
                                base_url=args.base_url, jobs=args.jobs, wait=wait, notify=notify)
    except InputError as exc:
        return _fail(str(exc))
    except OSError as exc:  # the output or cache location cannot be written
        return _fail(f"{exc.filename or args.out}: 无法写入 ({exc.strerror or exc})")
    if not args.quiet:
        print(f"完成：{result['documents']} 份文档，{result['passages']} 个段落，"
              f"{result['figures']} 个数据点 → {result['out']}")
        cov = result["figure_coverage"]
        print(f"  关键数字：{cov['total']} 个，{cov['with_metric']} 个归入指标，{cov['other']} 个为 other"
              f"（详见 data/figures-coverage.md）")
        for row in result["stages"]:
            extra = "  ".join(f"{k}={v}" for k, v in row.items()
                              if k not in ("stage", "seconds", "cpu_seconds", "peak_mb", "worker_peak_mb"))
            print(f"  {row['stage']:<16} {row['seconds']:>8.2f} s  CPU {row.get('cpu_seconds', 0):>8.2f} s  "
                  f"峰值内存 {row['peak_mb']:.0f} MB  {extra}")
    return 0


def _check_doc(index_dir, doc, label="--doc"):
    """Refuse a document id the index does not hold (like an unknown --city)."""
    from kb.pipeline import indexed_documents

    if doc is not None and doc not in indexed_documents(index_dir):
        raise ValueError(f"{label}: 未知文档编号 {doc}（见 data/documents.json）")


def _resolve_filters(vocab, city, instrument):
    if city:
        by_slug = {c["slug"]: c["name"] for c in vocab.cities}
        if city in by_slug:
            city = by_slug[city]
        elif city not in vocab.city_names:
            raise ValueError(f"--city: 未知城市 {city}（见 kb/data/cities.yaml）")
    if instrument and instrument not in {i["slug"] for i in vocab.instruments}:
        slugs = ", ".join(i["slug"] for i in vocab.instruments)
        raise ValueError(f"--instrument: 未知政策工具 {instrument}（可选：{slugs}）")
    return city, instrument


def _documents(out_dir):
    """{doc id: document record} from the build's documents.json (empty if unreadable)."""
    try:
        return {d["id"]: d for d in json.loads((Path(out_dir) / "data" / "documents.json").read_text(encoding="utf-8"))}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _describe(hit, docs):
    d = docs.get(hit["doc"], {})
    hit["document"] = {k: d.get(k) for k in ("title", "publisher", "date", "type", "doc_number")}
    hit["url"] = f"doc/{hit['doc']}.html#{hit['id']}"
    return hit


def search_main(argv):
    args = _search_parser().parse_args(argv)
    from kb.read import DOC_TYPE_LABELS
    from kb.search.whoosh_source import Searcher
    from kb.vocab import load_vocab

    if not args.query and not args.queries:
        return _fail("search 需要检索词 QUERY 或 --queries FILE")
    index_dir = Path(args.out) / "index"
    try:
        searcher = Searcher(index_dir)
    except FileNotFoundError:
        return _fail(f"{index_dir}: 没有索引，请先运行 python build.py")
    vocab = load_vocab()
    docs = _documents(args.out)
    with searcher:
        if args.queries:
            return _batch(searcher, vocab, Path(args.queries), args.limit, index_dir)
        try:
            city, instrument = _resolve_filters(vocab, args.city, args.instrument)
            _check_doc(index_dir, args.doc)
        except ValueError as exc:
            return _fail(str(exc))
        result = searcher.query(args.query, limit=args.limit, city=city and _slug(vocab, city),
                                instrument=instrument, year=args.year, doc=args.doc, type=args.type)
    hits = [_describe(h, docs) for h in result["hits"]]
    chips = [c["text"] for c in result["plan"]["concepts"]]
    if args.json:
        print(json.dumps({"q": args.query, "total": result["total"], "notices": result["notices"],
                          "concepts": [{k: c[k] for k in ("text", "kind", "cities", "instrument")}
                                       for c in result["plan"]["concepts"]],
                          "chips": result["chips"],
                          "hits": hits}, ensure_ascii=False, indent=1))
        return 0
    for note in result["notices"]:
        print(f"提示: {note}")
    if not hits:
        print("没有找到匹配的段落。")
        return 0
    recognised = [chip["label"] for chip in result["chips"]]
    print(f"共 {result['total']} 条结果（检索词：{' / '.join(chips)}"
          + (f"；识别：{'，'.join(recognised)}" if recognised else "") + "）")
    for rank, hit in enumerate(hits, 1):
        d = hit["document"]
        tags = "、".join(hit["cities"]) or "—"
        print(f"{rank:>2}. 《{d.get('title') or hit['doc']}》 {d.get('publisher') or ''} {d.get('date') or ''}"
              f" [{DOC_TYPE_LABELS.get(d.get('type'), d.get('type') or '')}]")
        print(f"    [{hit['id']}] 得分 {hit['score']:.2f}  城市: {tags}  工具: {', '.join(hit['instruments']) or '—'}")
        print(f"    {hit['section'] or '（无章节）'}")
        print(f"    {hit['snippet']}")
    return 0


def _slug(vocab, name):
    return vocab.city_by_name[name]["slug"] if name in vocab.city_by_name else name


QUERY_LINE_TYPES = {"q": str, "city": str, "instrument": str, "doc": str, "type": str, "year": int,
                    "limit": int}


def _query_line(line, vocab, index_dir, limit):
    """One --queries line -> search arguments; ValueError says what is wrong."""
    from kb.read import DOC_TYPES

    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"不是有效的 JSON ({exc.msg})") from None
    if not isinstance(item, dict):
        raise ValueError("应为 JSON 对象 {\"q\": …}")
    for key, value in item.items():
        kind = QUERY_LINE_TYPES.get(key)
        if kind is None:
            raise ValueError(f"未知字段 {key}（可用：{', '.join(QUERY_LINE_TYPES)}）")
        if value is not None and (type(value) is not kind):  # bool is not an int here
            raise ValueError(f"{key} 应为{'文本' if kind is str else '整数'}：{json.dumps(value, ensure_ascii=False)}")
    if item.get("limit") is not None and item["limit"] < 0:
        raise ValueError(f"limit 应为不小于 0 的整数（0 表示全部）：{item['limit']}")
    if item.get("type") is not None and item["type"] not in DOC_TYPES:
        raise ValueError(f"type 取值无效：{item['type']}（可选：{', '.join(DOC_TYPES)}）")
    city, instrument = _resolve_filters(vocab, item.get("city"), item.get("instrument"))
    _check_doc(index_dir, item.get("doc"), label="doc")
    return dict(q=item.get("q") or "", city=city and _slug(vocab, city), instrument=instrument,
                year=item.get("year"), doc=item.get("doc"), type=item.get("type"),
                limit=limit if item.get("limit") is None else item["limit"])


def _batch(searcher, vocab, path, limit, index_dir):
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"{path}: 无法读取 ({getattr(exc, 'strerror', None) or '不是 UTF-8 文本'})")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            query = _query_line(line, vocab, index_dir, limit)
        except ValueError as exc:
            return _fail(f"{path}:{n}: {exc}")
        q = query.pop("q")
        hits = searcher.query(q, **query)["hits"]
        print(json.dumps({"q": q, "ids": [h["id"] for h in hits]}, ensure_ascii=False))
    return 0


def _missing_runtime():
    """The first package of requirements.txt that is not installed (python outside .venv/)."""
    from importlib import metadata

    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        name = line.split("#")[0].split("==")[0].strip()
        if name:
            try:
                metadata.distribution(name)
            except metadata.PackageNotFoundError:
                return name
    return None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    missing = _missing_runtime()
    if missing:
        return _fail(f"缺少 Python 包 {missing}：请先运行 make site，再用 .venv/bin/python build.py …"
                     f"（当前解释器 {sys.executable}）")
    try:
        if argv and argv[0] == "search":
            code = search_main(argv[1:])
        elif argv and argv[0] == "add":
            code = add_main(argv[1:])
        else:
            code = build_main(argv[1:] if argv and argv[0] == "build" else argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # output piped into a reader that stopped (| head): end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:
        return _fail("已中断 (interrupted)", 128 + signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
