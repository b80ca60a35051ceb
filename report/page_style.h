#pragma once
// The report's stylesheet: layout, plot colours (the classes the sections give points and
// lines), the diagram and the table.

namespace nasforge::report {

const char* page_style();

}  // namespace nasforge::report
