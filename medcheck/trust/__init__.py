"""The trust track's offline scoring: TrustLLM release reading, refusal judges, trust metrics.

TrustLLM (Huang et al., ICML 2024) scores free text with a Longformer refusal classifier and
GPT-4; medcheck scores the same files with no network: a transparent refusal pattern model by
default (medcheck.trust.refusal), a local classifier or a user's endpoint on request.
"""
