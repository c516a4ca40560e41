"""The knowledge base: conditions, findings, evidence strengths, priors and triage policy as validated data."""

from painpath.kb.checks import benchmark_problems, cross_file_problems, evidence_stats
from painpath.kb.knowledge_base import KnowledgeBase, default_kb, load_kb

__all__ = ["KnowledgeBase", "benchmark_problems", "cross_file_problems", "default_kb", "evidence_stats", "load_kb"]
