"""Settings of the site: paths, limits, labels, the downloads list and data dictionary."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "site_templates"
DATA_DIR = ROOT / "kb" / "data"
DEFAULT_BASE_URL = "https://example.org/kb/"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'")

SITE_NAME = "城市科技金融政策比较知识库"
CITY_PAGE_PER_INSTRUMENT = 20     # passages per instrument on a city page
INSTRUMENT_PAGE_PER_CITY = 3      # key passages per city on an instrument page (查看全部 for the rest)
COMPARE_PER_CELL = 3              # passages per city × instrument cell on compare.html
COMPARE_EXCERPT = 120             # characters of the cue sentence shown on cards (full text: permalink)
CITY_FIGURES_PER_METRIC = 5       # newest key figures per metric and kind on a city page
MAX_ALIASES = 8                   # aliases listed under a city's name
COMPARE_DEFAULT = 3               # cities selected when compare.html has no ?cities=
COMPARE_MAX = 4

DOWNLOADS = (
    ("passages.jsonl", "JSON Lines", "全部段落，每行一个 JSON 对象（字段见下方数据字典）。"),
    ("passages.csv", "CSV（UTF-8 BOM）", "全部段落，适合 Excel；列表字段以“;”分隔，小节路径以“ › ”连接。"),
    ("documents.json", "JSON", "文献元数据（标题、发布者、日期、类型、文号、段落数等）。"),
    ("taxonomy.json", "JSON", "分类体系：城市（含别名）、省份、政策工具（含 STIP 代码与 Rothwell–Zegveld 类型、识别用词）、指标。"),
    ("figures.json", "JSON", "从段落中抽取的关键数字（城市、指标、数值、单位、时点、实际/目标、出处段落）。"),
    ("figures.csv", "CSV（UTF-8 BOM）", "同 figures.json，适合 Excel。"),
    ("figures-coverage.md", "Markdown", "关键数字抽取覆盖情况说明。"),
)
REQUIRED_DOWNLOADS = ("passages.jsonl", "passages.csv", "documents.json", "taxonomy.json",
                      "figures.json", "figures.csv")

DATA_DICTIONARY = (
    ("段落 passages", (
        ("id", "段落永久编号：文献编号 + 正文哈希（同一文献中相同正文加 -2、-3）"),
        ("doc", "所属文献编号"),
        ("position", "段落在文献中的顺序（从 0 开始）"),
        ("section", "所在小节标题路径（由外到内）"),
        ("text", "清洗后的段落正文"),
        ("cities", "段落所述的主体城市"),
        ("mentions", "段落中提到的全部城市"),
        ("province", "省级表述涉及的省份"),
        ("instruments", "命中的政策工具（slug）"),
        ("cues", "每个政策工具命中的识别用词"),
        ("year / years", "发布年份（文献日期的年份）/ 所述年份（段落所述事实的年份）"),
        ("url", "段落在本站的永久链接（相对站点根目录）"),
    )),
    ("文献 documents", (
        ("id / source", "文献编号 / 语料文件名"),
        ("source_url", "原文发布网址（元数据提供时）"),
        ("title / publisher", "标题 / 发布者（责任者）"),
        ("date / year", "发布日期（YYYY、YYYY-MM 或 YYYY-MM-DD）/ 发布年份"),
        ("type", "policy 政策文件、report 研究报告、news 新闻报道、commentary 评论文章"),
        ("home_city / doc_number / date_note", "所属城市 / 文号 / 日期说明"),
        ("passages", "段落数"),
    )),
    ("关键数字 figures", (
        ("city / metric", "城市 / 指标（slug，见 taxonomy.json）"),
        ("value / value_max / from_value / unit", "数值（区间上限、变化起点）/ 单位"),
        ("as_of", "数字所指时点"),
        ("kind", "actual 实际值，target 目标值"),
        ("cumulative / qualifier", "是否累计 / 限定语"),
        ("passage / doc / quote", "出处段落、文献与原文摘录"),
    )),
)

POLICY_TOOL_LABELS = {"supply": "供给型", "demand": "需求型", "environment": "环境型",
                      "environmental": "环境型"}
KIND_LABELS = {"actual": "实际", "target": "目标"}
QUALIFIER_LABELS = {"approx": "约", "over": "超过", "under": "不足", "at-least": "至少",
                    "at-most": "至多"}
SCOPE_LABELS = {"institution": "单个机构/基金"}  # kb.figures scope; "city" makes no claim
OTHER_METRIC = "other"  # kb.figures: a number that matched no metric of metrics.yaml
