// A downstream program: builds a tiny BERT classifier through the installed lightpeft and runs it.
#include <iostream>

#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>

#include "lightpeft/models/task_model.h"

int main() {
  lightpeft::ModelConfig c;
  c.vocab_size = 30;
  c.hidden_size = 16;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.intermediate_size = 8;
  c.attention_units_per_layer = {2};
  c.intermediate_per_layer = {8};
  c.max_position_embeddings = 16;
  c.num_labels = 3;
  auto model = lightpeft::make_task_model(c, lightpeft::HeadKind::sequence_classification);
  model->eval();
  lightpeft::ModelInputs in;
  in.input_ids = at::randint(1, 30, {2, 5}, at::kLong);
  in.attention_mask = at::ones({2, 5}, at::kLong);
  auto logits = model->forward(in).logits;
  std::cout << "logits " << logits.sizes() << "\n";
  return 0;
}
