#include "lightpeft/train/task_data.h"

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/distributed/process_group.h"
#include "lightpeft/data/chat_template.h"
#include "lightpeft/io/model_path.h"
#include "lightpeft/models/family.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/tasks/registry.h"

namespace lightpeft {
namespace {

UserTaskFiles user_files(const UserTaskSection& u) {
  UserTaskFiles f;
  f.spec.format = u.format;
  f.spec.text_column = u.text_column;
  f.spec.text_pair_column = u.text_pair_column;
  f.spec.label_column = u.label_column;
  f.spec.label_names = u.labels;
  f.spec.regression = u.regression;
  f.spec.metric = u.metric;
  f.train_file = u.train_file;
  f.dev_file = u.dev_file;
  f.test_file = u.test_file;
  return f;
}

SquadTaskFiles squad_files(const SquadSection& q) {
  SquadTaskFiles f;
  f.train_file = q.train_file;
  f.dev_file = q.dev_file;
  f.test_file = q.test_file;
  f.options.doc_stride = q.doc_stride;
  f.options.answers.version_2_with_negative = q.version_2_with_negative;
  f.options.answers.n_best_size = q.n_best_size;
  f.options.answers.max_answer_length = q.max_answer_length;
  f.options.answers.null_score_diff_threshold = q.null_score_diff_threshold;
  return f;
}

BatcherOptions batcher_options(const TrainConfig& config, const Task& task, int64_t pad_id) {
  BatcherOptions o;
  o.pad_id = pad_id;
  o.seed = static_cast<uint64_t>(config.seed);
  o.regression = task.float_labels();
  o.choices_per_example = task.choices_per_item();
  return o;
}

// Packing applies to training only (evaluation batches rows as they are).
int64_t pack_length(const TrainConfig& config) {
  return config.instruction && config.instruction->packing ? config.max_seq_length : 0;
}

// The prompt format of the instruction section; a chat template comes from the model's folder.
PromptFormat prompt_format(const TrainConfig& config, const InstructionSection& s) {
  switch (s.format) {
    case PromptStyle::alpaca: return PromptFormat::alpaca();
    case PromptStyle::custom:
      return PromptFormat::custom(s.template_text, config.source.string() + ": key 'instruction.template'",
                                  s.template_no_input);
    case PromptStyle::chat: {
      const auto dir = resolve_model_dir(config.model);
      ChatPromptOptions options;
      options.render = chat_options_of(dir);
      options.all_assistant_turns = s.all_assistant_turns;
      options.system_prompt = s.system_prompt;
      try {
        return PromptFormat::chat(load_chat_template(dir), options);
      } catch (const Error& e) {
        throw_error(config.source.string(), ": key 'instruction.format': chat needs the model's chat template: ", e.what());
      }
    }
  }
  throw_error(config.source.string(), ": key 'instruction.format': unknown format");
}

}  // namespace

std::shared_ptr<const Task> make_config_task(const TrainConfig& config) {
  TaskOptions options;
  if (config.user_task) options.user = user_files(*config.user_task);
  if (config.squad) options.squad = squad_files(*config.squad);
  if (config.instruction) {
    const InstructionSection& s = *config.instruction;
    InstructionTaskFiles f;
    f.train_file = s.train_file;
    f.dev_file = s.dev_file;
    f.test_file = s.test_file;
    f.format = prompt_format(config, s);
    f.options.max_new_tokens = s.max_new_tokens;
    options.instruction = std::move(f);
  }
  if (config.commonsense) {
    options.commonsense.train = config.commonsense->train;
    options.commonsense.eval = config.commonsense->eval;
    options.commonsense.options.max_new_tokens = config.commonsense->max_new_tokens;
    options.commonsense.options.generation_eval = config.commonsense->generation_eval;
  }
  // The commonsense sets are generative tasks for decoders, heads for encoders.
  if (is_commonsense_task(config.task))
    options.causal_lm = model_family(load_model_config(config.model).model_type).supports(HeadKind::causal_lm);
  try {
    return make_task(config.task, config.data_dir, options);
  } catch (const Error& e) {
    throw_error(config.source.string(), ": key 'task': ", e.what());
  }
}

TaskData load_task_data(const TrainConfig& config, const Tokenizer& tokenizer, TaskSplits splits) {
  TaskData data;
  data.task = make_config_task(config);
  const Task& task = *data.task;
  LoadOptions train_opt, dev_opt;
  train_opt.skip_bad_rows = dev_opt.skip_bad_rows = config.training.skip_bad_rows;
  train_opt.max_examples = config.training.max_train_samples;
  dev_opt.max_examples = config.training.max_eval_samples;
  std::vector<Split> needed;
  if (splits.train) needed.push_back(Split::train);
  if (splits.dev) needed.push_back(Split::dev);
  try {
    if (!needed.empty()) task.source().check_files(needed);
  } catch (const Error& e) {
    throw_error(config.source.string(), ": ", e.what());
  }
  std::vector<Example> train, dev;
  if (splits.train) train = task.source().load(Split::train, train_opt);
  if (splits.dev) dev = task.source().load(Split::dev, dev_opt);
  LP_CHECK(!splits.train || !train.empty(), config.source.string(), ": the training split of '",
           config.task, "' is empty");
  LP_CHECK(!splits.dev || !dev.empty(), config.source.string(), ": the dev split of '", config.task, "' is empty");
  data.train = task.encode(train, tokenizer, config.max_seq_length);
  data.dev = task.encode(dev, tokenizer, config.max_seq_length);
  // Extractive QA: a question with a long context is several items (windows).
  auto items = [](const std::vector<Example>& rows, const EncodedSplit& e) {
    return std::to_string(rows.size()) + " examples" +
           (e.windows.empty() ? "" : " (" + std::to_string(e.windows.size()) + " windows)");
  };
  log::info("data: ", task.name(), " train ", items(train, data.train), ", dev ", items(dev, data.dev),
            ", max_seq_length ", config.max_seq_length);
  return data;
}

std::vector<Example> load_prediction_examples(const TrainConfig& config, const Task& task,
                                              const std::string& split) {
  LoadOptions opt;
  opt.skip_bad_rows = config.training.skip_bad_rows;
  // Which splits a task can predict is its row source's rule (tasks/task.h).
  Split s = Split::test;
  try {
    s = task.source().prediction_split(split);
  } catch (const Error& e) {
    throw_error(config.source.string(), ": ", e.what());
  }
  std::vector<Example> out = task.source().load(s, opt);
  LP_CHECK(!out.empty(), config.source.string(), ": the ", split, " split of '", config.task, "' is empty");
  return out;
}

Batcher make_train_batcher(const TrainConfig& config, const Task& task, const EncodedSplit& split,
                           int64_t pad_id) {
  BatcherOptions o = batcher_options(config, task, pad_id);
  // Data parallel: the global micro-batch, of which this rank takes its shard (batcher.h).
  o.num_shards = dist::world_size();
  o.shard = dist::rank();
  o.batch_size = config.training.per_device_train_batch_size * o.num_shards;
  o.shuffle = true;
  o.group_by_length = config.training.group_by_length;
  o.pack_length = pack_length(config);
  Batcher batcher(split.examples, o);
  if (o.pack_length > 0)
    log::info("packing: ", split.examples.size(), " rows into ", batcher.num_items(), " sequences of up to ",
              o.pack_length, " tokens");
  return batcher;
}

Batcher make_eval_batcher(const TrainConfig& config, const Task& task, const EncodedSplit& split,
                          int64_t pad_id) {
  BatcherOptions o = batcher_options(config, task, pad_id);
  o.batch_size = config.training.per_device_eval_batch_size;
  return Batcher(split.examples, o);
}

}  // namespace lightpeft
