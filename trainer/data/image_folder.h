#pragma once
// A folder of PNG and JPEG images, one sub-folder per class (the torchvision ImageFolder
// convention), decoded in parallel on oneTBB:
//   root/<class>/<files>                    one split; the caller carves validation from it
//   root/train/<class>/... [root/val/<class>/...] [root/test/<class>/...]
// Classes are the sorted sub-folder names of the training root (labels 0..K-1). Files are found
// recursively inside a class folder; names starting with '.' are ignored. Files that cannot be
// decoded are skipped and listed in SourceData::skipped.
#include <string>
#include <vector>

#include "trainer/data/source.h"

namespace nasforge::trainer {

struct ImageFolderOptions {
  std::string root;
  // > 0: every image is resized to image_size x image_size (antialiased bilinear).
  // 0: the images keep their size, and all of them must share one.
  int image_size = 0;
  // 0: 1 if every image is grayscale, else 3 (gray repeated into RGB, alpha dropped);
  // 1 or 3: forced (RGB to gray with the ITU-R 601 weights).
  int channels = 0;
};

// Reads, decodes and labels every image. Throws DataError (one line naming the path, the problem
// and the fix) for a missing or empty root, a single class, a class folder with no readable image,
// a val/ or test/ class that training does not have, images of different sizes with image_size 0,
// and bad options.
SourceData read_image_folder(const ImageFolderOptions& options);

// The files read_image_folder would try to decode, in its order (all splits), e.g. to key a cache
// on their sizes and modification times. Throws DataError as read_image_folder does for a bad
// layout.
std::vector<std::string> image_folder_files(const std::string& root);

}  // namespace nasforge::trainer
