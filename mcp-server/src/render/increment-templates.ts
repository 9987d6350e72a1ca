/**
 * The files of a new ML increment: spec.md, plan.md, tasks.md and tests.md, shaped by the problem type.
 * Pure: data in, markdown out. The syntax (frontmatter keys, `### US-NNN`, `**AC-USn-NN**`, `### T-NNN` with
 * `**Status**: [ ] pending`) is what SpecWeave's own parsers read.
 */
import type { Criterion } from '../core/criteria.js';
import { PROBLEM_PROFILES, type ProblemType } from '../core/problem-types.js';

export interface IncrementTemplateInput {
  id: string;
  title: string;
  problemType: ProblemType;
  primaryMetric: string;
  direction: 'maximize' | 'minimize';
  criteria: Criterion[];
  minImprovement: number;
  /** The quality gates validate_increment runs (core/gates/index.ts), with their thresholds' current values. */
  gates: { id: string; summary: string; thresholds: { key: string; value: number }[] }[];
  project: string;
  /** YYYY-MM-DD */
  date: string;
}

const bullets = (items: string[]) => items.map((i) => `- ${i}`).join('\n');

export function renderSpec(input: IncrementTemplateInput): string {
  const p = PROBLEM_PROFILES[input.problemType];
  const criteria = input.criteria.length
    ? bullets(input.criteria.map((c) => c.text))
    : `<!-- One criterion per bullet, "<metric> <op> <number>", e.g. "- ${input.primaryMetric} ${input.direction === 'maximize' ? '>=' : '<='} 0.8". validate_increment checks each against the best experiment. -->`;
  return `---
increment: ${input.id}
title: ${JSON.stringify(input.title)}
type: feature
priority: P1
status: planning
created: ${input.date}
structure: user-stories
test_mode: test-after
coverage_target: 80
---

# Feature: ${input.title}

## Overview

_What decision or product feature this model serves, and what happens today without it._

## ML Problem Definition

- Problem type: ${p.label}
- Primary metric: ${input.primaryMetric} (${input.direction})
- Input: _the features available at prediction time_
- Output: _the prediction and how it is consumed_

## Success Criteria

${criteria}

## Data Requirements

- Training data: _source, period, size, label definition_
- Validation: ${p.validation}
- Leakage: no feature may use information from after the prediction time or from the label.

## Model Requirements

- Baselines: ${p.baselines.join('; ')}
- The chosen model beats the best baseline by at least ${input.minImprovement} (the beats-baseline gate of validate_increment).
- Explainability: feature importance or SHAP values for the chosen model, saved with the experiment.
- Latency / throughput: _targets for serving_

## User Stories

### US-001: Baselines and candidates are tracked (P1)
**Project**: ${input.project}

**As a** ML engineer
**I want** every baseline and candidate run recorded with its parameters and metrics
**So that** the model choice can be reproduced and reviewed

**Acceptance Criteria**:
- [ ] **AC-US1-01**: At least one baseline experiment is recorded
- [ ] **AC-US1-02**: At least three candidate algorithms are recorded, failed runs included

### US-002: The chosen model meets the success criteria (P1)
**Project**: ${input.project}

**As a** product owner
**I want** the chosen model to meet every success criterion on held-out data
**So that** it is worth deploying

**Acceptance Criteria**:
- [ ] **AC-US2-01**: The best model beats the best baseline by the configured margin
- [ ] **AC-US2-02**: Every success criterion is met by the best experiment
- [ ] **AC-US2-03**: The best model and its explanation artifacts are saved

### US-003: The decision is documented (P2)
**Project**: ${input.project}

**As a** team member
**I want** the comparison and the reasons for the choice in the living docs
**So that** the knowledge outlives this increment

**Acceptance Criteria**:
- [ ] **AC-US3-01**: comparison.md, the model ADR and the retraining runbook are written

## Out of Scope

_What this increment will not do._
`;
}

export function renderPlan(input: IncrementTemplateInput): string {
  const p = PROBLEM_PROFILES[input.problemType];
  return `# Plan: ${input.title}

## Design

1. **Data**: explore, check quality and label balance, freeze the split. ${p.validation}
2. **Features**: build them in a pipeline fitted on training folds only.
3. **Baselines**: ${p.baselines.join('; ')}. Record them with \`baseline: true\`.
4. **Candidates**: ${p.candidates.join('; ')}.
5. **Tuning**: tune the most promising candidate with cross-validation; record every trial worth keeping.
6. **Evaluation**: ${p.metrics.join(', ')}; confidence intervals and a significance test against the runner-up.
7. **Explainability**: feature importance / SHAP for the chosen model.
8. **Hand-over**: save the model, write the comparison, validate the increment, sync the living docs.

## Rationale

- Primary metric **${input.primaryMetric}** (${input.direction}) because it reflects the decision the model serves; the
  other metrics guard against a model that games it.
- Baselines first: a candidate's score means little until it is compared with the simplest thing that works.

## Risks

${bullets(p.pitfalls)}
`;
}

interface TaskSpec {
  title: string;
  story: string;
  acs: string;
  implementation: string;
  test: string;
}

export function renderTasks(input: IncrementTemplateInput): string {
  const p = PROBLEM_PROFILES[input.problemType];
  const tasks: TaskSpec[] = [
    {
      title: 'Data exploration and quality analysis',
      story: 'US-001',
      acs: 'AC-US1-01',
      implementation: 'profile the data, check label balance and missing values, freeze the split',
      test: 'Given the raw data, When the split is frozen, Then train and test sets share no rows',
    },
    {
      title: 'Feature engineering pipeline',
      story: 'US-001',
      acs: 'AC-US1-02',
      implementation: 'features in a pipeline fitted on training folds only',
      test: 'Given the pipeline, When fitted on a fold, Then no statistic uses rows outside that fold',
    },
    {
      title: 'Train baseline models',
      story: 'US-001',
      acs: 'AC-US1-01',
      implementation: `${p.baselines.join('; ')}; track with baseline: true`,
      test: 'Given the baselines, When tracked, Then each has params and metrics recorded',
    },
    {
      title: 'Train candidate models',
      story: 'US-001',
      acs: 'AC-US1-02',
      implementation: `${p.candidates.join('; ')}; cross-validated`,
      test: 'Given three candidates, When tracked, Then each has fold scores and test metrics',
    },
    {
      title: 'Hyperparameter tuning of the best candidate',
      story: 'US-002',
      acs: 'AC-US2-01',
      implementation: 'search with cross-validation; record the trials worth keeping',
      test: 'Given the search, When it ends, Then the best configuration is tracked as its own experiment',
    },
    {
      title: 'Evaluate and compare models',
      story: 'US-002',
      acs: 'AC-US2-01, AC-US2-02',
      implementation: `${p.metrics.join(', ')}; compare_experiments`,
      test: 'Given all experiments, When compared, Then the best beats the best baseline by the margin',
    },
    {
      title: 'Explain the chosen model',
      story: 'US-002',
      acs: 'AC-US2-03',
      implementation: 'feature importance / SHAP values saved as experiment artifacts',
      test: 'Given the chosen model, When explained, Then the artifacts exist beside it',
    },
    {
      title: 'Save the model and validate the increment',
      story: 'US-002',
      acs: 'AC-US2-03',
      implementation: 'save the fitted model; validate_increment',
      test: 'Given the increment, When validated, Then every quality gate passes',
    },
    {
      title: 'Document the decision',
      story: 'US-003',
      acs: 'AC-US3-01',
      implementation: 'sync_docs: model section, ADR and retraining runbook',
      test: 'Given the synced docs, When read, Then they name the chosen model and the alternatives tried',
    },
  ];
  const blocks = tasks.map(
    (t, i) => `### T-${String(i + 1).padStart(3, '0')}: ${t.title}
**User Story**: ${t.story} | **Satisfies ACs**: ${t.acs} | **Status**: [ ] pending
**Implementation**: ${t.implementation}
**Test Plan**: ${t.test}
`,
  );
  return `# Tasks: ${input.title}\n\n${blocks.join('\n')}`;
}

export function renderTests(input: IncrementTemplateInput): string {
  const p = PROBLEM_PROFILES[input.problemType];
  const criteria = input.criteria.length ? bullets(input.criteria.map((c) => c.text)) : '- _see spec.md, Success Criteria_';
  return `# Evaluation criteria: ${input.title}

## Metrics

Primary: **${input.primaryMetric}** (${input.direction}). Also reported: ${p.metrics.join(', ')}.

## Validation strategy

${p.validation}

## Acceptance thresholds

${criteria}
- Improvement over the best baseline of at least ${input.minImprovement}.

## Quality gates (validate_increment)

${input.gates.map((g) => `- **${g.id}**: ${g.summary}${g.thresholds.length ? ` (${g.thresholds.map((t) => `${t.key} ${t.value}`).join(', ')})` : ''}`).join('\n')}

Change a threshold with update_increment, e.g. \`update_increment {"increment": "${input.id}", "thresholds": {"min_improvement": 0.1}}\`.
`;
}
