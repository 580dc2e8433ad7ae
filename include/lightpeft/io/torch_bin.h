#pragma once
// Reader of PyTorch's zip checkpoint format: `torch.save(model.state_dict(), f)` (torch >= 1.6),
// e.g. HF `pytorch_model.bin`. The archive holds `<name>/data.pkl` (a pickle of an OrderedDict of
// tensors whose storages are persistent ids) and `<name>/data/<key>` (raw storage bytes).
//
// Pickles can run arbitrary code, so the pickle is read by our own minimal unpickler which builds
// only plain values and allows exactly the globals a state dict needs (collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter / _rebuild_parameter_with_state and the
// typed storage classes torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage).
// Any other global is refused with a lightpeft::Error naming it; nothing is ever executed.
#include <filesystem>

#include "lightpeft/io/state_dict.h"

namespace lightpeft {

// Loads the tensors of a zip-format torch.save'd state dict as contiguous CPU tensors that own
// their memory (views of one storage, e.g. tied or transposed weights, become separate copies).
// The archive's name prefix may be anything. The `_metadata` attribute torch attaches to state
// dicts is ignored. Throws lightpeft::Error naming the file for legacy (pre-1.6, non-zip) files,
// disallowed globals, non-tensor values, malformed pickles and storages out of range.
StateDict load_torch_bin(const std::filesystem::path& path);

}  // namespace lightpeft
